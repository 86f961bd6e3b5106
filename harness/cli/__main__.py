"""``python -m harness.cli``: the same as the ``dapr-chaos`` command."""

from __future__ import annotations

import sys

from harness.cli.main import main

sys.exit(main())

"""Instrument a Python workflow app that starts itself (``python my_app.py``), with no
change to its code: the harness puts this directory on the app's ``PYTHONPATH`` and sets
``DAPR_CHAOS_INSTRUMENT=1``; Python imports this module at start-up.

It patches the Dapr SDK's ``WorkflowRuntime`` before the app registers anything (see
:mod:`harness.app._instrument`), and writes what was registered once the runtime starts.
"""

from __future__ import annotations

import os

if os.environ.get("DAPR_CHAOS_INSTRUMENT") == "1":
    from harness.app._instrument import install_for_self_started_app

    install_for_self_started_app()

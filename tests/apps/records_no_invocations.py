"""The reference order app, except that it writes no invocation records to the ledger
(effects and failpoints still work): what an app that never wraps its activities with
``recorded_activity`` gives the harness. The determinism check then has no activity to
crash after, and must say VACUOUS, never PASS."""

from __future__ import annotations

from harness.app import _ledger
from harness.app._records import Invocation, InvocationEnd
from harness.reference_apps.orders.__main__ import main

_append = _ledger.append_record


def append_all_but_invocations(record: _ledger._Record) -> None:
    if not isinstance(record, Invocation | InvocationEnd):
        _append(record)


_ledger.append_record = append_all_but_invocations

if __name__ == "__main__":
    main()

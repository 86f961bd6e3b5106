"""Record workflow histories as replayable files, and read them back.

A history file ``<instance>.pb`` is the instance's full history exactly as daprd's gRPC
``GetInstanceHistory`` returned it (a serialized ``GetInstanceHistoryResponse``), behind a
two-line header that makes a truncated or foreign file an error instead of a shorter,
silently "clean" history::

    dapr-chaos history v1\\n
    {"instance_id": ..., "events": N, "bytes": B, "sha256": ...}\\n
    <B bytes of protobuf>

Next to it, ``<instance>.json`` is a readable rendering (protobuf's JSON mapping) for
people and diffs; the replayer reads only the ``.pb``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orchestration
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as pb
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from harness.errors import ConfigError, WorkloadError
from harness.record.instances import InstanceReader, event_kind

MAGIC = b"dapr-chaos history v1\n"
SUFFIX = ".pb"
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")
_SUMMARY = 120  # characters of an input/output shown in a row


@dataclass(frozen=True)
class RecordedHistory:
    """One instance's recorded history. ``events`` are protobuf ``HistoryEvent``s."""

    instance_id: str
    events: list[Any]
    source: Path | None = field(default=None, compare=False)

    @property
    def workflow_name(self) -> str:
        """The workflow's registered name, from its ``executionStarted`` event."""
        for event in self.events:
            if event.HasField("executionStarted"):
                return str(event.executionStarted.name)
        return ""

    @property
    def where(self) -> str:
        return str(self.source) if self.source else self.instance_id


def history_file_name(instance_id: str) -> str:
    """``<instance>.pb``, with characters unsafe in file names replaced by ``_``."""
    return _UNSAFE.sub("_", instance_id) + SUFFIX


def encode_history(instance_id: str, events: Sequence[Any]) -> bytes:
    """The bytes of a history file (header + serialized ``GetInstanceHistoryResponse``)."""
    payload: bytes = pb.GetInstanceHistoryResponse(events=events).SerializeToString()
    header = {
        "instance_id": instance_id,
        "events": len(events),
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + payload


def decode_history(data: bytes, where: str) -> RecordedHistory:
    """Parse history-file bytes; ConfigError saying what is wrong with ``where``."""
    fix = "record it again with `dapr-chaos history export`"
    if not data.startswith(MAGIC):
        raise ConfigError(f"{where} is not a dapr-chaos history file (bad header); {fix}")
    head, sep, payload = data[len(MAGIC) :].partition(b"\n")
    try:
        header: Any = json.loads(head) if sep else None
        instance_id = str(header["instance_id"])
        count, size, digest = int(header["events"]), int(header["bytes"]), header["sha256"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{where}: the history header is corrupt; {fix}") from None
    if len(payload) != size or hashlib.sha256(payload).hexdigest() != digest:
        raise ConfigError(
            f"{where} is truncated or corrupt ({len(payload)} of {size} payload bytes, "
            f"checksum {'ok' if hashlib.sha256(payload).hexdigest() == digest else 'wrong'}); "
            f"{fix}"
        )
    response = pb.GetInstanceHistoryResponse()
    try:
        response.ParseFromString(payload)
    except DecodeError as exc:
        raise ConfigError(f"{where}: the history payload does not parse: {exc}; {fix}") from None
    events = list(response.events)
    if len(events) != count:
        raise ConfigError(f"{where}: {len(events)} events, the header says {count}; {fix}")
    if not any(e.HasField("executionStarted") for e in events):
        raise ConfigError(f"{where}: the history has no executionStarted event; {fix}")
    return RecordedHistory(instance_id, events)


def read_history(path: str | Path) -> RecordedHistory:
    """Read one ``.pb`` history file; a missing, unreadable or corrupt file is a
    ConfigError (never an empty history)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"history file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read history file {path}: {exc.strerror}") from None
    history = decode_history(data, str(path))
    return RecordedHistory(history.instance_id, history.events, path)


def read_histories(paths: Iterable[str | Path]) -> tuple[dict[str, RecordedHistory], list[str]]:
    """Read every ``.pb`` history file: the readable ones by instance id (in the order
    given) and, for each one that cannot be read, why (the checks judge what they can
    and say what they could not)."""
    read: dict[str, RecordedHistory] = {}
    unreadable: list[str] = []
    for path in paths:
        try:
            recorded = read_history(path)
        except ConfigError as exc:
            unreadable.append(str(exc))
            continue
        read[recorded.instance_id] = recorded
    return read, unreadable


def history_json(instance_id: str, events: Sequence[Any]) -> dict[str, Any]:
    """The readable rendering: protobuf's JSON mapping of every event, with its index."""
    return {
        "instanceId": instance_id,
        "events": [
            {"index": i, **json_format.MessageToDict(event)} for i, event in enumerate(events)
        ],
    }


def write_history(directory: Path, instance_id: str, events: Sequence[Any]) -> Path:
    """Write ``<instance>.pb`` and ``<instance>.json`` into ``directory``; returns the .pb."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / history_file_name(instance_id)
    tmp = path.with_suffix(".pb.tmp")
    tmp.write_bytes(encode_history(instance_id, events))
    tmp.replace(path)  # a reader never sees half a file
    path.with_suffix(".json").write_text(
        json.dumps(history_json(instance_id, events), indent=1) + "\n", encoding="utf-8"
    )
    return path


def record_histories(
    reader: InstanceReader, directory: Path, instance_ids: Iterable[str] | None = None
) -> list[Path]:
    """Fetch the full history of each instance (default: every instance daprd lists)
    and write it into ``directory``. Returns the .pb paths, in instance order.
    WorkloadError if daprd refuses, or has no history for an instance."""
    ids = list(instance_ids) if instance_ids is not None else reader.instance_ids()
    fetched = {instance_id: reader.events(instance_id) for instance_id in ids}
    empty = [instance_id for instance_id, events in fetched.items() if not events]
    if empty:  # before anything is written: no half-exported directory
        raise WorkloadError(f"daprd has no history for instance(s) {', '.join(empty)}")
    return [write_history(directory, iid, events) for iid, events in fetched.items()]


def _summary(text: str) -> str:
    return text if len(text) <= _SUMMARY else text[: _SUMMARY - 1] + "…"


def _value(wrapper: Any) -> str:
    """A google.protobuf.StringValue field's text ('' when unset)."""
    return str(wrapper.value) if wrapper is not None and wrapper.ByteSize() else ""


def _describe(kind: str, body: Any) -> tuple[str, str]:
    """(name, detail) of one event body, for a table row."""
    if kind in ("executionStarted", "taskScheduled", "childWorkflowInstanceCreated"):
        detail = "input " + _value(body.input) if _value(body.input) else ""
        if kind == "childWorkflowInstanceCreated":
            detail = f"instance {body.instanceId}" + (f"; {detail}" if detail else "")
        return str(body.name), detail
    if kind in ("taskCompleted", "childWorkflowInstanceCompleted"):
        return f"#{body.taskScheduledId}", "result " + (_value(body.result) or "null")
    if kind in ("taskFailed", "childWorkflowInstanceFailed"):
        failure = body.failureDetails
        return f"#{body.taskScheduledId}", f"failed {failure.errorType}: {failure.errorMessage}"
    if kind == "timerCreated":
        origin = body.WhichOneof("origin") or "createTimer"
        return str(body.name), f"fire at {body.fireAt.ToJsonString()} ({origin})"
    if kind == "timerFired":
        return f"#{body.timerId}", f"fired at {body.fireAt.ToJsonString()}"
    if kind == "executionCompleted":
        status = orchestration.OrchestrationStatus.Name(body.workflowStatus)
        status = status.replace("ORCHESTRATION_STATUS_", "")
        failure = body.failureDetails
        if failure.errorType:
            return status, f"failed {failure.errorType}: {failure.errorMessage}"
        return status, "output " + (_value(body.result) or "null")
    if kind in ("eventRaised", "eventSent"):
        return str(body.name), "input " + (_value(body.input) or "null")
    if kind == "workflowStarted" and body.version.ByteSize():
        patches = ", ".join(body.version.patches)
        return str(body.version.name), f"patches {patches}" if patches else ""
    return "", ""


def history_rows(events: Sequence[Any]) -> list[dict[str, str]]:
    """One row per event for an HTML table: ``index``, ``time`` (UTC, ISO 8601 with
    milliseconds), ``event`` (type), ``id`` (the event id; -1 for events without one),
    ``name`` (activity/workflow/timer name, the task id a result answers, or the final
    status) and ``detail`` (input, result, failure or timer deadline, cut to 120 chars)."""
    rows = []
    for index, event in enumerate(events):
        kind = event_kind(event)
        name, detail = _describe(kind, getattr(event, kind, None))
        rows.append(
            {
                "index": str(index),
                "time": event.timestamp.ToDatetime().isoformat(timespec="milliseconds") + "Z",
                "event": kind,
                "id": str(event.eventId),
                "name": name,
                "detail": _summary(detail),
            }
        )
    return rows

"""What a workflow did in one turn, in a form free of SDK types: one ``Step`` per
scheduled activity, child workflow, timer, sent event, or the completion.

The adapter builds steps from what the code produces now (actions) and from what the
history recorded (events); the diff engine compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIVITY = "activity"
CHILD = "child-workflow"
TIMER = "timer"
EVENT = "event"
COMPLETE = "completion"
VERSION_MISSING = "version-not-registered"


@dataclass(frozen=True)
class Step:
    """One scheduled step. ``id`` is the SDK's sequence number (an event's eventId).

    ``input`` / ``output`` are the JSON texts as serialized (None when absent);
    ``fire_at`` is a timer's deadline (RFC 3339, UTC); ``status`` the completion status
    (COMPLETED, FAILED, ...); ``failure`` "ErrorType: message" of a failed completion;
    ``target`` the child workflow's or event's instance id; ``index`` the position of the
    recorded event in the history (None for steps the code produced).
    """

    kind: str
    id: int
    name: str = ""
    input: str | None = None
    fire_at: str | None = None
    origin: str | None = None
    status: str | None = None
    output: str | None = None
    failure: str | None = None
    target: str | None = None
    index: int | None = None

    def describe(self) -> str:
        if self.kind == COMPLETE:
            if self.failure:
                return f"completion {self.status} with failure {self.failure}"
            return f"completion {self.status} with output {self.output}"
        if self.kind == VERSION_MISSING:
            return "no registered version of the workflow that started this instance (stalled)"
        text = f"{self.kind} {self.name!r}" if self.name else self.kind
        if self.kind == TIMER:
            text += f" firing at {self.fire_at}" + (f" ({self.origin})" if self.origin else "")
        if self.target:
            text += f" for instance {self.target}"
        if self.input is not None:
            text += f" with input {self.input}"
        return f"{text} as #{self.id}"

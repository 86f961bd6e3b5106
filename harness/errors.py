"""The one exception hierarchy of dapr-chaos.

Every error a user can see is a :class:`HarnessError`. Its message is one line that says
what failed, why, and what to do. ``exit_status`` is what the CLI exits with: 2 for bad
input (options, files, missing binaries, ports in use), 1 for everything else.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error raised by dapr-chaos."""

    exit_status: int = 1


class ConfigError(HarnessError):
    """Bad input: an option, an environment variable or a file has a wrong value."""

    exit_status = 2


class PortInUseError(ConfigError):
    """A port the stack must bind is taken by another process."""


class ProvisionError(HarnessError):
    """A binary the stack needs is missing and could not be found, downloaded or built."""

    exit_status = 2


class DownloadUnavailable(ProvisionError):
    """A release download could not be reached: connection refused, DNS failure, timeout,
    HTTP 404 or 5xx. Provisioning then builds the binary instead; this is seen only when
    building is not possible either. A download that was reached but is wrong (checksum,
    truncated, corrupt) is a plain :class:`ProvisionError`, never this."""


class StackError(HarnessError):
    """A stack member failed to start, died, or never became ready.

    ``log_tail`` holds the last lines of that member's log, already part of the message.
    """

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        if log_tail:
            message = f"{message}\n--- last lines of its log ---\n{log_tail}"
        super().__init__(message)
        self.log_tail = log_tail


class WorkloadError(HarnessError):
    """The system under test answered in a way the workload cannot interpret."""


class AnswerMismatch(WorkloadError):
    """The app answered in a shape the workload cannot read: a field missing, a value it
    does not know (an order API of another shape than the one configured). Deterministic,
    so never retried or waited out: raised at once, naming the field and showing the body."""


class FaultError(HarnessError):
    """A fault could not act: its target is not running, its link has no proxy, or the
    injection itself failed. A fault that did nothing is an error, never a pass."""


class ToxiproxyError(HarnessError):
    """toxiproxy-server refused a request or did not answer."""


class NotDelivered(WorkloadError):
    """A request never reached the system under test (its connection was refused): it
    certainly had no effect, so it is safe to send again."""

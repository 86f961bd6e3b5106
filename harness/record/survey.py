"""Every workflow instance of a stack, as daprd reports it now: one survey per refresh.

Read only through daprd's gRPC API: ``ListInstanceIDs`` for the ids, ``GetInstance`` for
status, name, times, input and output, ``GetInstanceHistory`` for the events. When daprd
does not implement the listing, the survey falls back to the ids the harness knows (the
``known`` callable: the app ledger's workflow ids, the workloads' attempts) and says so.
Terminal instances are read once and then served from a cache: a refresh costs one call
per instance still running, plus the listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.errors import WorkloadError
from harness.record.instances import InstanceState, ListingUnsupported
from harness.record.recorder import history_rows

LISTED = "daprd ListInstanceIDs"
KNOWN = "ids the harness knows (daprd does not list instances)"


class InstanceSource(Protocol):
    """What a survey reads from (an :class:`~harness.record.instances.InstanceReader`)."""

    def instance_ids(self) -> list[str]: ...

    def state(self, instance_id: str) -> InstanceState | None: ...

    def events(self, instance_id: str) -> list[Any]: ...


@dataclass(frozen=True)
class InstanceView:
    """One instance with its history rows (:func:`~harness.record.recorder.history_rows`)
    or why they could not be read; ``history`` is empty and ``history_error`` None when
    the history was not read (beyond the survey's ``histories`` limit)."""

    state: InstanceState
    history: list[dict[str, str]] = field(default_factory=list)
    history_error: str | None = None


@dataclass(frozen=True)
class Survey:
    """The instances newest first (by creation time), how their ids were found
    (:data:`LISTED` or :data:`KNOWN`, with the reason), and what could not be read."""

    instances: list[InstanceView]
    source: str
    errors: list[str]
    total: int  # instances found, including those beyond the limit


class InstanceSurvey:
    """Surveys ``source``; ``known`` gives the fallback ids. ``limit``: at most this many
    instances (the newest) are returned with their histories."""

    def __init__(
        self,
        source: InstanceSource,
        *,
        known: Callable[[], Iterable[str]] = tuple,
        limit: int = 200,
    ) -> None:
        self.source = source
        self.known = known
        self.limit = limit
        self._states: dict[str, InstanceState] = {}
        self._views: dict[str, InstanceView] = {}
        self._listing_problem: str | None = None

    def _ids(self, errors: list[str]) -> tuple[list[str], str]:
        if self._listing_problem is None:
            try:
                return self.source.instance_ids(), LISTED
            except ListingUnsupported as exc:
                self._listing_problem = str(exc)
            except WorkloadError as exc:
                errors.append(str(exc))
                return list(self._states), LISTED
        return sorted(set(self.known())), f"{KNOWN}: {self._listing_problem}"

    def poll(self) -> Survey:
        """Read what changed since the last poll; never raises for a read that failed
        (each failure is one line in ``errors``, the last known state is kept)."""
        errors: list[str] = []
        ids, how = self._ids(errors)
        for instance_id in ids:
            cached = self._states.get(instance_id)
            if cached is not None and cached.terminal:
                continue
            try:
                state = self.source.state(instance_id)
            except WorkloadError as exc:
                errors.append(str(exc))
                continue
            if state is not None:
                self._states[instance_id] = state
        listed = set(ids)
        states = [s for i, s in self._states.items() if i in listed]
        states.sort(key=lambda s: (s.created or 0.0, s.instance_id), reverse=True)
        views = [self._view(state, errors) for state in states[: self.limit]]
        return Survey(views, how, errors, len(states))

    def _view(self, state: InstanceState, errors: list[str]) -> InstanceView:
        cached = self._views.get(state.instance_id)
        if cached is not None and cached.state == state and cached.history_error is None:
            return cached
        try:
            view = InstanceView(state, history_rows(self.source.events(state.instance_id)))
        except WorkloadError as exc:
            errors.append(str(exc))
            view = InstanceView(state, [], str(exc))
        self._views[state.instance_id] = view
        return view


def in_flight(state: InstanceState, start: float, end: float | None, now: float) -> bool:
    """Whether the instance was running at some moment of [``start``, ``end``] (epoch
    seconds; ``end`` None: until ``now``): created by the window's end and, unless still
    running, last updated after its start."""
    until = now if end is None else end
    if state.created is None or state.created > until:
        return False
    return not state.terminal or (state.last_updated or 0.0) >= start


def ids_in_flight(
    instances: Sequence[InstanceView], start: float, end: float | None, now: float
) -> list[str]:
    """The ids of ``instances`` :func:`in_flight` during the window."""
    return [v.state.instance_id for v in instances if in_flight(v.state, start, end, now)]

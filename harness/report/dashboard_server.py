"""The live dashboard's server: surveys the watched stack's daprd every ``interval``
seconds on a thread of its own and serves the result on 127.0.0.1.

``GET /`` the page, ``GET /view`` its live part (HTML), ``GET /state.json`` the snapshot
(:func:`harness.report.dashboard.snapshot`). Reads go only through daprd's gRPC API
(never the state store). Both threads are daemons and :meth:`Dashboard.stop` ends them
and closes the port; use it as a context manager so that happens whatever the run did.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.errors import HarnessError
from harness.record.instances import InstanceReader
from harness.record.ledger import Ledger
from harness.record.survey import InstanceSurvey, Survey
from harness.record.timeline import Timeline
from harness.report.dashboard import FaultRun, render_page, render_view, snapshot, to_json
from harness.stack.stack import Stack

log = logging.getLogger("harness")


class Dashboard:
    """A live page of one stack's workflow instances and the run's fault windows.

    :meth:`start` binds a free port on 127.0.0.1 and returns the URL; :meth:`watch`
    points it at a stack (a new stack forgets the old one's fault windows; None: no stack
    now); :meth:`follow` adds a run's timeline whose windows the page marks. ``interval``:
    seconds between surveys (the page refreshes as often); ``limit``: at most this many
    instances, the newest, are drawn with their histories.
    """

    def __init__(self, *, interval: float = 1.0, limit: int = 200) -> None:
        self.interval = interval
        self.limit = limit
        self._lock = threading.Lock()
        self._stack: Stack | None = None
        self._runs: list[tuple[str, Timeline]] = []
        self._known: set[str] = set()
        self._reader: InstanceReader | None = None
        self._survey: InstanceSurvey | None = None
        self._last: Survey | None = None
        self._problem: str | None = "no stack yet"
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- what it shows ----------------------------------------------------------------

    def watch(self, stack: Stack | None) -> None:
        """Survey ``stack`` from now on (None: none); the same stack again is a no-op."""
        with self._lock:
            if stack is self._stack:
                return
            if self._reader is not None:
                self._reader.close()
            self._stack, self._runs, self._known = stack, [], set()
            self._reader = self._survey = self._last = None
            self._problem = "no stack running" if stack is None else "starting"

    def follow(self, timeline: Timeline, label: str) -> None:
        """Mark ``timeline``'s fault windows (labelled ``label``) on the page."""
        with self._lock:
            if all(t is not timeline for _, t in self._runs):
                self._runs.append((label, timeline))

    def know(self, instance_ids: Iterable[str]) -> None:
        """Ids to show if daprd cannot list instances (besides the app ledger's)."""
        with self._lock:
            self._known.update(instance_ids)

    def state(self) -> dict[str, Any]:
        """The current snapshot (what ``/state.json`` serves)."""
        with self._lock:
            stack, survey, problem = self._stack, self._last, self._problem
            runs = [FaultRun(label, list(t.windows)) for label, t in self._runs]
        return snapshot(
            survey,
            runs,
            app_id=stack.config.app_id if stack is not None else None,
            daprd=f"127.0.0.1:{stack.ports['daprd_grpc']}" if stack is not None else None,
            now=time.time(),
            problem=problem,
        )

    # -- surveying --------------------------------------------------------------------

    def _known_ids(self) -> list[str]:
        with self._lock:
            stack, known = self._stack, set(self._known)
        if stack is not None:
            try:
                known.update(i.workflow_id for i in Ledger.read(stack.ledger_path).invocations)
            except (OSError, HarnessError) as exc:
                log.debug("dashboard: the ledger is unreadable: %s", exc)
        return sorted(known)

    def refresh(self) -> None:
        """One survey of the watched stack (the surveying thread calls it)."""
        with self._lock:
            stack, survey = self._stack, self._survey
            if stack is not None and survey is None:
                try:
                    self._reader = InstanceReader(
                        stack.ports["daprd_grpc"], stack.api_token, timeout=2.0
                    )
                except HarnessError as exc:  # not started yet: no ports, no token
                    self._problem = f"the stack is not up: {exc}"
                    return
                survey = self._survey = InstanceSurvey(
                    self._reader, known=self._known_ids, limit=self.limit
                )
        if survey is None:
            return
        result = survey.poll()
        with self._lock:
            if survey is self._survey:
                self._last = result
                self._problem = (
                    "daprd does not answer (stopped or restarting?)"
                    if result.errors and not result.instances
                    else None
                )

    def _survey_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:
                with self._lock:
                    self._problem = f"survey failed: {exc}"
            self._stop.wait(self.interval)

    # -- serving ----------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """``http://127.0.0.1:PORT/`` once started; None before and after."""
        if self._server is None:
            return None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> str:
        """Bind a free port on 127.0.0.1, start serving and surveying; the page's URL."""
        if self._server is not None:
            raise RuntimeError("the dashboard is already started")
        page = render_page(title="dapr-chaos live dashboard", interval_ms=int(self.interval * 1000))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, page))
        # Request threads are joined on close (a stop leaves no thread behind: one that
        # was still finishing its answer outlived a stop once); the handler's socket
        # timeout keeps a silent client from holding the join.
        server.daemon_threads = False
        server.block_on_close = True
        self._server = server
        self._stop.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, name="dashboard-http", daemon=True),
            threading.Thread(target=self._survey_loop, name="dashboard-survey", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        url = self.url
        assert url is not None
        return url

    def stop(self) -> None:
        """Stop both threads and close the port and the gRPC channel (idempotent)."""
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads = []
        with self._lock:
            if self._reader is not None:
                self._reader.close()
            self._reader = self._survey = None

    def __enter__(self) -> Dashboard:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _handler(dashboard: Dashboard, page: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 5  # seconds a client may stay silent on its connection

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
            elif path == "/view":
                self._send(200, "text/html; charset=utf-8", render_view(dashboard.state()))
            elif path == "/state.json":
                self._send(200, "application/json", to_json(dashboard.state()))
            else:
                self._send(404, "text/plain; charset=utf-8", "not found\n")

        def _send(self, status: int, kind: str, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("dashboard: " + format, *args)

    return Handler

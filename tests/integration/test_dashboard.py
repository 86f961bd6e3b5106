"""The live dashboard on the session stack: the reference app's orders appear with their
status and history, read from daprd, and a fault injected during the test is marked, with
the instances in flight during it; the page renders them in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from harness import Chaos, Orders, Stack
from harness.report.dashboard_server import Dashboard

pytest_plugins = ["pytester"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.2)


def served(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "state.json", timeout=5) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


def test_the_dashboard_shows_the_stacks_instances_and_marks_a_fault(
    dapr_stack: Stack, chaos: Chaos, orders: Orders
) -> None:
    with Dashboard(interval=0.5) as board:
        board.watch(dapr_stack)
        board.follow(chaos.timeline, "test_dashboard")
        url = board.url
        assert url is not None and url.startswith("http://127.0.0.1:")
        before = [orders.submit() for _ in range(3)]
        orders.wait_terminal(before, timeout=60)
        window = chaos.latency("app->daprd", 150)
        during = [orders.submit() for _ in range(2)]
        orders.wait_terminal(during, timeout=60)
        chaos.heal()
        assert window.end is not None
        ours = before + during

        def shown() -> bool:
            by_id = {i["instance_id"]: i for i in served(url)["instances"]}
            return all(by_id.get(i, {}).get("status") == "COMPLETED" for i in ours)

        wait_for(shown, "every order COMPLETED on the dashboard")
        data = served(url)
        assert data["listed"], data["source"]  # daprd 1.18 lists instances
        by_id = {i["instance_id"]: i for i in data["instances"]}
        first = by_id[before[0]]
        assert first["name"] == "order_processing" and first["app_id"] == dapr_stack.config.app_id
        assert before[0] in (first["input"] or "") and "Approved" in (first["output"] or "")
        events = [row["event"] for row in first["history"]]
        assert "executionStarted" in events and events[-1] == "executionCompleted"
        assert first["created"] <= first["last_updated"]
        (fault,) = data["windows"]
        assert (fault["kind"], fault["target"], fault["active"]) == ("latency", "app->daprd", False)
        assert set(during) <= set(fault["in_flight"])
        assert not set(before) & set(fault["in_flight"])
        assert all(by_id[i]["faults"] == [fault["number"]] for i in during)

        if CHROMIUM is None:
            pytest.skip("no chromium (make test installs it as root): the page is not rendered")
        flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        dom = subprocess.run(
            [*flags, "--virtual-time-budget=4000", "--dump-dom", f"{url}#{during[0]}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    for instance_id in ours:
        assert f'data-id="{instance_id}" data-status="COMPLETED"' in dom, instance_id
    opened = re.search(
        rf'<details class="instance" data-id="{during[0]}"[^>]*>.*?</details>', dom, re.S
    )
    assert opened is not None and " open" in opened.group(0).split(">", 1)[0]
    block = opened.group(0)
    assert '<table class="history">' in block and "executionCompleted" in block
    assert f"in flight during fault F{fault['number']}" in block
    assert '<table id="fault-windows"' in dom and "app-&gt;daprd" in dom and ">PAST<" in dom


@pytest.mark.usefixtures("real_cache")  # before pytester moves HOME: the cached binaries
def test_the_plugin_option_serves_the_session_stack_and_each_tests_faults(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_user="""
        import json, time, urllib.request
        from harness.plugin import dashboard_url

        def state(url):
            with urllib.request.urlopen(url + "state.json", timeout=5) as resp:
                return json.loads(resp.read())

        def test_board(dapr_stack, chaos, orders, request):
            url = dashboard_url(request.config)
            assert url and url.startswith("http://127.0.0.1:")
            chaos.latency("app->daprd", 50)
            oid = orders.submit()
            orders.wait_terminal([oid])
            chaos.heal()
            deadline = time.monotonic() + 20
            while True:
                data = state(url)
                ids = {i["instance_id"]: i["status"] for i in data["instances"]}
                if ids.get(oid) == "COMPLETED":
                    break
                assert time.monotonic() < deadline, data
                time.sleep(0.2)
            (window,) = data["windows"]
            assert window["run"] == request.node.nodeid and oid in window["in_flight"]
    """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dapr-chaos-dashboard")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*dapr-chaos dashboard of the session stack: http://127.0.0.1:*/"])

"""The order API in both dialects: the seed article's original (C# OrderProcessing, its Go
port) and the reference app's. Pure parsing first, then the HTTP client and the order
workload against a tiny server on 127.0.0.1 that answers with the original's exact JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from harness.errors import AnswerMismatch, ConfigError, WorkloadError
from harness.record.history import DOTNET_RUNTIME_STATUS, RUNTIME_STATUSES, runtime_status_name
from harness.record.order_shape import (
    APPROVED,
    ORDER_SHAPES,
    ORIGINAL,
    REFERENCE,
    REJECTED,
    OrderShape,
    order_shape,
)
from harness.workload.order_api import Order, OrderAPIClient, accepted_id, parse_status
from harness.workload.orders import Orders

# What the original C# app answers, byte for byte as System.Text.Json writes it.
ORIGINAL_DONE = {"runtimeStatus": "Completed", "output": {"orderId": "o-1", "status": "Completed"}}
ORIGINAL_REJECTED = {
    "runtimeStatus": "Completed",
    "output": {"orderId": "o-2", "status": "Rejected: out of stock"},
}
# The same with the enum as a bare number (no JsonStringEnumConverter): 1 is Completed.
ORIGINAL_NUMERIC = {"runtimeStatus": 1, "output": {"orderId": "o-1", "status": "Completed"}}
OURS_DONE = {
    "runtimeStatus": "COMPLETED",
    "output": {"orderId": "o-1", "result": "Approved", "charged": 4999},
}
OURS_REJECTED = {
    "runtimeStatus": "COMPLETED",
    "output": {"orderId": "o-2", "result": "Rejected: out of stock", "charged": 0},
}


# -- runtime status ----------------------------------------------------------------------


def test_the_dotnet_enum_numbers_are_the_declaration_order() -> None:
    assert DOTNET_RUNTIME_STATUS == {
        0: "RUNNING",
        1: "COMPLETED",
        2: "CONTINUED_AS_NEW",
        3: "FAILED",
        4: "CANCELED",
        5: "TERMINATED",
        6: "PENDING",
        7: "SUSPENDED",
    }
    assert set(DOTNET_RUNTIME_STATUS.values()) <= set(RUNTIME_STATUSES)


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("COMPLETED", "COMPLETED"),
        ("Completed", "COMPLETED"),
        ("completed", "COMPLETED"),
        (" Completed ", "COMPLETED"),
        ("ContinuedAsNew", "CONTINUED_AS_NEW"),
        ("CONTINUED_AS_NEW", "CONTINUED_AS_NEW"),
        ("ORCHESTRATION_STATUS_FAILED", "FAILED"),
        ("Terminated", "TERMINATED"),
        ("Pending", "PENDING"),
        (0, "RUNNING"),
        (1, "COMPLETED"),
        (3, "FAILED"),
        (5, "TERMINATED"),
        (7, "SUSPENDED"),
        ("1", "COMPLETED"),
    ],
)
def test_runtime_status_in_any_spelling(spelling: Any, name: str) -> None:
    assert runtime_status_name(spelling) == name


@pytest.mark.parametrize("bad", ["Done", "", "COMPLETE", 8, -1, True, None, 1.0, ["Completed"]])
def test_what_is_not_a_runtime_status(bad: Any) -> None:
    assert runtime_status_name(bad) is None


# -- GET /orders/<id> -----------------------------------------------------------------


def test_the_originals_answers_under_the_original_shape() -> None:
    done = parse_status("o-1", ORIGINAL_DONE, ORIGINAL)
    assert done.runtime_status == "COMPLETED" and done.terminal
    assert done.result == "Completed" and ORIGINAL.verdict(done) == APPROVED
    numeric = parse_status("o-1", ORIGINAL_NUMERIC, ORIGINAL)
    assert numeric == done and ORIGINAL.is_approved(numeric)
    rejected = parse_status("o-2", ORIGINAL_REJECTED, ORIGINAL)
    assert rejected.result == "Rejected: out of stock" and ORIGINAL.verdict(rejected) == REJECTED
    running = parse_status("o-3", {"runtimeStatus": 0, "output": None}, ORIGINAL)
    assert running.runtime_status == "RUNNING" and not running.terminal


def test_ours_under_the_reference_shape() -> None:
    done = parse_status("o-1", OURS_DONE)
    assert done.result == "Approved" and REFERENCE.is_approved(done)
    rejected = parse_status("o-2", OURS_REJECTED, REFERENCE)
    assert REFERENCE.is_rejected(rejected) and not REFERENCE.is_approved(rejected)
    failed = parse_status("o-3", {"runtimeStatus": "FAILED", "failure": {"message": "boom"}})
    assert failed.failure == {"message": "boom"} and failed.output is None


def test_keys_in_pascal_case_and_an_output_serialized_twice() -> None:
    pascal = {"RuntimeStatus": "Completed", "Output": json.dumps(ORIGINAL_DONE["output"])}
    status = parse_status("o-1", pascal, ORIGINAL)
    assert status.runtime_status == "COMPLETED" and status.output == ORIGINAL_DONE["output"]


def test_a_status_without_runtime_status_is_a_mismatch_naming_the_field() -> None:
    body = {"status": "Completed", "output": {}}
    with pytest.raises(AnswerMismatch, match="without a runtimeStatus field") as caught:
        parse_status("o-1", body, ORIGINAL)
    assert '"status": "Completed"' in str(caught.value)  # the body is shown


def test_an_unknown_runtime_status_is_a_mismatch() -> None:
    with pytest.raises(AnswerMismatch, match=r"runtimeStatus 'Done' is not a runtime status"):
        parse_status("o-1", {"runtimeStatus": "Done"}, ORIGINAL)
    with pytest.raises(AnswerMismatch, match="runtimeStatus 42 is not"):
        parse_status("o-1", {"runtimeStatus": 42}, ORIGINAL)
    with pytest.raises(AnswerMismatch, match="not a JSON object"):
        parse_status("o-1", "Completed", ORIGINAL)


def test_a_completed_output_without_the_shapes_field_is_a_mismatch() -> None:
    # The original's answer read as the reference app's, and the other way round.
    with pytest.raises(AnswerMismatch, match=r"no 'result' field.*'reference'") as caught:
        parse_status("o-1", ORIGINAL_DONE, REFERENCE)
    assert "order_api" in str(caught.value) and '"status": "Completed"' in str(caught.value)
    with pytest.raises(AnswerMismatch, match=r"no 'status' field.*'original'"):
        parse_status("o-1", OURS_DONE, ORIGINAL)
    assert isinstance(AnswerMismatch("x"), WorkloadError)


# -- POST /orders ------------------------------------------------------------------------


def test_a_202_names_the_instance_as_instance_id_or_order_id() -> None:
    assert accepted_id("o-1", {"instanceId": "o-1"}) == "o-1"
    assert accepted_id("o-1", {"orderId": "o-1"}) == "o-1"
    assert accepted_id("o-1", {"InstanceId": "i-9", "orderId": "o-1"}) == "i-9"
    for body in ({}, {"id": "o-1"}, {"instanceId": ""}, {"orderId": 7}, None, "accepted"):
        with pytest.raises(AnswerMismatch, match="without an instanceId or orderId") as caught:
            accepted_id("o-1", body)
        assert "body" in str(caught.value)


# -- shapes -------------------------------------------------------------------------------


def test_the_built_in_shapes() -> None:
    assert ORDER_SHAPES == {"reference": REFERENCE, "original": ORIGINAL}
    assert (REFERENCE.field, REFERENCE.approved) == ("result", ("Approved",))
    assert (ORIGINAL.field, ORIGINAL.approved) == ("status", ("Completed",))
    assert ORIGINAL.rejected_prefixes == REFERENCE.rejected_prefixes == ("Rejected",)
    assert order_shape("original") is ORIGINAL and order_shape(REFERENCE) is REFERENCE
    assert ORIGINAL.marker({"status": "Pending"}) == "Pending"
    assert (
        ORIGINAL.verdict(
            parse_status("o", {"runtimeStatus": 1, "output": {"status": "?"}}, ORIGINAL)
        )
        is None
    )


def test_a_shape_of_ones_own_from_a_mapping() -> None:
    shape = order_shape({"field": "outcome", "approved": "OK", "rejected": ["NO", "REFUSED"]})
    assert shape == OrderShape("custom", "outcome", ("OK",), ("NO", "REFUSED"))
    assert shape.as_data() == {
        "field": "outcome",
        "approved": ["OK"],
        "rejected": ["NO", "REFUSED"],
    }
    assert order_shape(ORIGINAL.as_data()).approved == ORIGINAL.approved


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("seed", "unknown order API shape 'seed'; use one of reference, original"),
        ({"approved": "OK", "rejected": "NO"}, "order_api.field is required"),
        ({"field": "s", "approved": "OK"}, "give rejected values or rejected prefixes"),
        ({"field": "s", "rejected": "NO"}, "give at least one approved value"),
        ({"field": "s", "approved": 1, "rejected": "NO"}, "order_api.approved must be a string"),
        ({"field": "s", "approved": "OK", "rejected": "NO", "x": 1}, "unknown key(s) x"),
        ({"field": "s", "approved": "OK", "rejected": "OK"}, "both approved and rejected"),
        (3, "order_api must be one of reference, original or a mapping"),
    ],
)
def test_bad_shapes_are_config_errors_saying_what_is_allowed(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        order_shape(value)
    assert message in str(caught.value)


# -- over HTTP on 127.0.0.1 ----------------------------------------------------------------

Handler = Callable[[str, str, Any], tuple[int, Any]]


@contextmanager
def order_app(answer: Handler) -> Iterator[int]:
    """A tiny order API on 127.0.0.1: ``answer(method, path, body)`` → (status, JSON)."""

    class Serve(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, out = answer(self.command, self.path, body)
            data = json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def original_app(submit_body: Callable[[str], Any]) -> Handler:
    """The original's API: 202 with ``submit_body(id)``; p-sold-out is rejected; the
    status enum as a bare number."""
    orders: dict[str, str] = {}

    def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "POST" and path == "/orders":
            orders[body["orderId"]] = body["productId"]
            return 202, submit_body(body["orderId"])
        order_id = path.rsplit("/", 1)[-1]
        if order_id not in orders:
            return 404, {"error": "no such order"}
        status = "Rejected: out of stock" if orders[order_id].endswith("sold-out") else "Completed"
        return 200, {"runtimeStatus": 1, "output": {"orderId": order_id, "status": status}}

    return answer


ORDER = Order("o-1", "cust-1", "p-001", 2, 49.99)


@pytest.mark.parametrize("key", ["instanceId", "orderId"])
def test_the_client_reads_the_original_over_http(key: str) -> None:
    with order_app(original_app(lambda i: {key: i})) as port:
        api = OrderAPIClient(port, timeout=5, order_api=ORIGINAL)
        assert api.submit(ORDER) == "o-1"
        status = api.status("o-1")
        assert status is not None and status.runtime_status == "COMPLETED"
        assert status.result == "Completed" and ORIGINAL.is_approved(status)
        assert api.status("never") is None
        orders = Orders(api, prefix="t-")
        assert orders.order_api is ORIGINAL
        sold_out = orders.submit(product_id="t-sold-out", quantity=1)
        done = orders.wait_terminal(timeout=5)
        assert ORIGINAL.is_rejected(done[sold_out])


def test_a_202_without_an_id_stops_the_workload_with_a_mismatch() -> None:
    with order_app(original_app(lambda i: {"accepted": True})) as port:
        orders = Orders(OrderAPIClient(port, timeout=5, order_api=ORIGINAL), prefix="t-")
        with pytest.raises(AnswerMismatch, match=r'without an instanceId or orderId.*"accepted"'):
            orders.try_submit(resend_for=1.0)
        with pytest.raises(AnswerMismatch):
            orders.submit()


def test_the_original_read_as_ours_is_one_clear_error_not_a_timeout() -> None:
    with order_app(original_app(lambda i: {"instanceId": i})) as port:
        orders = Orders(OrderAPIClient(port, timeout=5), prefix="t-")  # reference shape
        orders.submit()
        with pytest.raises(AnswerMismatch, match="no 'result' field"):
            orders.wait_terminal(timeout=30)

"""A third-party Dapr workflow script, written the way the Dapr quickstarts write them.

It knows nothing of dapr-chaos: it reads DAPR_GRPC_PORT / DAPR_API_TOKEN like any Dapr app,
starts its own WorkflowRuntime, schedules one workflow, waits for it and exits 0 when the
greeting came back (3 otherwise).
"""

import sys

import dapr.ext.workflow as wf

wfr = wf.WorkflowRuntime()


@wfr.activity(name="greet")
def greet(ctx, name):
    return f"Hello {name}"


@wfr.workflow(name="hello")
def hello(ctx, name):
    first = yield ctx.call_activity(greet, input=name)
    second = yield ctx.call_activity(greet, input=name.upper())
    return [first, second]


if __name__ == "__main__":
    wfr.start()
    client = wf.DaprWorkflowClient()
    instance = client.schedule_new_workflow(
        workflow=hello, input=sys.argv[1] if len(sys.argv) > 1 else "world"
    )
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
    wfr.shutdown()
    print("RESULT", state.runtime_status.name, state.serialized_output, flush=True)
    sys.exit(
        0 if state.runtime_status.name == "COMPLETED" and "Hello" in state.serialized_output else 3
    )

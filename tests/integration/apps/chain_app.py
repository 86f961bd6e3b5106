"""A user's task-chaining workflow app, written without dapr-chaos in mind."""

from dapr.ext.workflow import DaprWorkflowContext, WorkflowActivityContext, WorkflowRuntime

wfr = WorkflowRuntime()


@wfr.workflow(name="chain")
def chain(ctx: DaprWorkflowContext, text: str):
    a = yield ctx.call_activity(step1, input=text)
    b = yield ctx.call_activity(step2, input=a)
    c = yield ctx.call_activity(step3, input=b)
    return c


@wfr.activity(name="step1")
def step1(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-1"


@wfr.activity(name="step2")
def step2(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-2"


@wfr.activity(name="step3")
def step3(ctx: WorkflowActivityContext, text: str) -> str:
    return text + "-3"

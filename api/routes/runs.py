"""A project's run: start it, read its state, decide at its gate, restart, cancel."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, HTTPException, status
from pydantic import AfterValidator, ConfigDict, Field
from temporalio.client import (
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import (
    ProjectAccess,
    ProjectForEditor,
    ProjectForViewer,
    StateDep,
    tenant_repository,
)
from api.events import is_ending
from api.schemas import MAX_INT, RequestModel, refuse_unstorable
from docflow import temporal
from docflow.agents.estimate import RunEstimate, estimate_run
from docflow.contracts import (
    Action,
    Decision,
    FlowInput,
    FlowOptions,
    FlowState,
    RunStatus,
    Step,
    decision_problem,
)
from docflow.failures import retry_words
from docflow.quotas import Quotas
from workflows.project_flow import ProjectFlow

router = APIRouter(prefix="/api/v1/projects/{project_id}/runs", tags=["runs"])

RESTARTABLE = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.CANCELED,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
}
# Problems with what the person sent (422) rather than with the state of the run (409).
INVALID_INPUT_MARKERS = ("needs non-empty", "needs the document_id", "go with a revision")


class RunStart(RequestModel):
    auto_approve: bool = Field(
        default=False, description="Approve every gate automatically (API clients, demos)."
    )


class CommentRequest(RequestModel):
    path: str = Field(min_length=1, max_length=300, examples=["docs/architecture.md"])
    quote: str = Field(min_length=1, max_length=2_000, examples=["Python 3.12 with FastAPI"])
    text: str = Field(min_length=1, max_length=2_000, examples=["Use Go for the API."])


class DecisionRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"step": "description", "action": "approve", "version": 1},
                {
                    "step": "architecture",
                    "action": "revise",
                    "feedback": "Use Go instead of Python for the API",
                },
                {
                    "step": "architecture",
                    "action": "revise",
                    "feedback": "Keep the rest as it is.",
                    "comments": [
                        {
                            "path": "docs/architecture.md",
                            "quote": "Python 3.12 with FastAPI",
                            "text": "Use Go for the API.",
                        }
                    ],
                },
                {
                    "step": "plan",
                    "action": "edit",
                    "document_id": "3f2c9a1e-8d4b-4c1a-9f0e-2b7d6c5a4e3f",
                    "content": "# Implementation plan\n\nOur own words.\n",
                    "version": 2,
                },
            ]
        }
    )

    step: Step
    action: Action
    feedback: str | None = Field(default=None, max_length=10_000)
    comments: list[CommentRequest] = Field(
        default_factory=list,
        max_length=50,
        description="Comments on passages (revise only): each becomes part of the feedback, "
        "quoting its passage; the revised version keeps them in meta.comments.",
    )
    content: str | None = Field(default=None, max_length=500_000)
    document_id: UUID | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_INT)

    def to_decision(self, decided_by: str) -> Decision:
        return Decision.model_validate({**self.model_dump(), "decided_by": decided_by})


def _handle(state: StateDep, access: ProjectAccess) -> WorkflowHandle[Any, Any]:
    return state.temporal.get_workflow_handle(temporal.workflow_id(access.project.id))


async def _describe(state: StateDep, access: ProjectAccess) -> WorkflowExecutionDescription:
    try:
        return await _handle(state, access).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, detail="no run has been started for this project") from error
        raise


async def _current_state(state: StateDep, access: ProjectAccess) -> FlowState:
    try:
        result: FlowState = await _handle(state, access).query(ProjectFlow.state)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, detail="no run has been started for this project") from error
        raise
    except WorkflowQueryFailedError as error:
        raise HTTPException(503, detail=f"the run's state is unavailable: {error}") from error
    return result


async def _check_tenant_limits(state: StateDep, access: ProjectAccess) -> None:
    """429 when the tenant is over a monthly quota or already runs as many flows as allowed."""
    tenant_id = access.principal.tenant_id
    exceeded = await Quotas(state.redis, state.settings).first_exceeded(tenant_id)
    if exceeded is not None:
        raise HTTPException(429, detail=f"quota exceeded: {exceeded.describe()}")
    limit = state.settings.max_concurrent_runs_per_tenant
    if limit <= 0:
        return
    running = await state.temporal.count_workflows(
        f"WorkflowType = 'ProjectFlow' AND ExecutionStatus = 'Running' AND TenantId = '{tenant_id}'"
    )
    if running.count >= limit:
        raise HTTPException(
            429,
            detail=f"the tenant already has {running.count} runs going; at most {limit} at once",
            headers={"Retry-After": "60"},
        )


async def _next_first_seq(state: StateDep, access: ProjectAccess) -> int:
    """After the last event of the project's latest run (1 when there is none), so a client
    resuming with an event id from that run misses nothing of the next one. A run that
    closed without an ending event of its own (terminated, timed out) gets ``run_ended``
    from the event stream at the next number: that number is left free."""
    try:
        previous = await _current_state(state, access)
    except HTTPException as error:
        if error.status_code == status.HTTP_404_NOT_FOUND:
            return 1
        raise
    last = max((event.seq for event in previous.events), default=0)
    return last + 1 if is_ending(previous.events) else last + 2


async def _start(
    state: StateDep, access: ProjectAccess, flow: FlowInput, *, after_completion: bool = False
) -> FlowState:
    await _check_tenant_limits(state, access)
    flow = flow.model_copy(update={"first_seq": await _next_first_seq(state, access)})
    try:
        await temporal.start_flow(
            state.temporal, state.settings, flow, after_completion=after_completion
        )
    except WorkflowAlreadyStartedError as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="this project's flow is running or has completed; "
            "a new run starts only after a failed or cancelled one (use restart)",
        ) from error
    return await _current_state(state, access)


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Start the four-step flow")
async def start_run(body: RunStart, access: ProjectForEditor, state: StateDep) -> FlowState:
    flow = FlowInput(
        tenant_id=access.principal.tenant_id,
        project_id=access.project.id,
        requested_by=access.principal.subject,
        options=FlowOptions(
            auto_approve=body.auto_approve,
            max_quality_revisions=state.settings.quality_max_revisions,
        ),
    )
    return await _start(state, access, flow)


@router.get("/estimate", summary="What a run of this project will cost, before it starts")
async def estimate(access: ProjectForViewer, state: StateDep) -> RunEstimate:
    """Calls and tokens per step from the idea's size and the sections' budgets: tokens out
    are an upper bound; automatic quality revisions and retries come on top."""
    project = access.project
    return estimate_run(project.idea, project.constraints, state.settings.llm_upstream_chars)


@router.get("/current", summary="The current run's state and event log")
async def current_run(access: ProjectForViewer, state: StateDep) -> FlowState:
    current = await _current_state(state, access)
    if current.status is RunStatus.RUNNING:
        current.retrying = await _retrying(state, access, current)
    return current


async def _retrying(state: StateDep, access: ProjectAccess, current: FlowState) -> str | None:
    """What the run waits for while one of its activities is tried again, in words."""
    description = await _describe(state, access)
    for pending in description.raw_description.pending_activities:
        if pending.attempt > 1:
            failure = pending.last_failure
            kind = failure.application_failure_info.type if failure.message else None
            return retry_words(pending.activity_type.name, str(current.step), pending.attempt,
                               kind or None)  # fmt: skip
    return None


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Send the same key when you retry a decision: it is taken once, and "
        "the retry answers what the first one did.",
    ),
    AfterValidator(refuse_unstorable),
]


def _problem_status(problem: str) -> int:
    return 422 if any(marker in problem for marker in INVALID_INPUT_MARKERS) else 409


@router.post("/current/decisions", summary="Approve, revise or edit at the open gate")
async def decide(
    body: DecisionRequest,
    access: ProjectForEditor,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> FlowState:
    """With an ``Idempotency-Key`` the decision is a Temporal Update of that id, which the
    server takes once: a retry after the gate moved on answers the first outcome."""
    decision = body.to_decision(access.principal.subject)
    if idempotency_key is None:
        current = await _current_state(state, access)
        gate = current.gate if current.status is RunStatus.AWAITING_APPROVAL else None
        problem = decision_problem(decision, gate)
        if problem is not None:
            raise HTTPException(_problem_status(problem), detail=problem)
    update_id = f"decision-{idempotency_key or uuid4()}"
    try:
        result: FlowState = await _handle(state, access).execute_update(
            ProjectFlow.decide, decision, id=update_id
        )
    except WorkflowUpdateFailedError as error:  # refused by the workflow's validator
        problem = str(error.cause)
        raise HTTPException(_problem_status(problem), detail=problem) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, detail="no run has been started for this project") from error
        if error.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in error.message:
            raise HTTPException(409, detail="the run has ended: no gate is open") from error
        raise
    return result


@router.post(
    "/current/restart",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start again after a failed or cancelled run, or after a completed one to "
    "regenerate stale documents; accepted, non-stale steps are kept",
)
async def restart_run(access: ProjectForEditor, state: StateDep) -> FlowState:
    description = await _describe(state, access)
    async with tenant_repository(state, access.principal.tenant_id) as repo:
        accepted = await repo.accepted_by_step(access.project.id)
    completed = description.status == WorkflowExecutionStatus.COMPLETED
    if completed and all(step in accepted for step in Step):
        raise HTTPException(
            409, detail="the run completed and no document is stale: there is nothing to redo"
        )
    if not completed and description.status not in RESTARTABLE:
        name = description.status.name.lower() if description.status else "unknown"
        raise HTTPException(
            409,
            detail=f"only a failed, cancelled or completed run restarts; it is {name}",
        )
    flow = FlowInput(
        tenant_id=access.principal.tenant_id,
        project_id=access.project.id,
        requested_by=access.principal.subject,
        options=FlowOptions(max_quality_revisions=state.settings.quality_max_revisions),
        accepted=accepted,
    )
    return await _start(state, access, flow, after_completion=completed)


@router.post(
    "/current/cancel", status_code=status.HTTP_202_ACCEPTED, summary="Cancel the running flow"
)
async def cancel_run(access: ProjectForEditor, state: StateDep) -> FlowState:
    description = await _describe(state, access)
    if description.status != WorkflowExecutionStatus.RUNNING:
        name = description.status.name.lower() if description.status else "unknown"
        raise HTTPException(409, detail=f"the run has already ended: {name}")
    current = await _current_state(state, access)
    await _handle(state, access).cancel()
    return current

"""ProjectFlow: four agent steps, each followed by a durable approval gate, then export.

The workflow holds ids and small state only; documents live in PostgreSQL and are
written by activities (called by name: this module imports no activity code).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    TimeoutError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from docflow.contracts import (
        STEPS,
        AcceptInput,
        Action,
        Decision,
        EventPage,
        ExportInput,
        ExportOutput,
        FlowEvent,
        FlowInput,
        FlowResult,
        FlowState,
        Gate,
        PassageComment,
        RunStatus,
        SaveEditInput,
        Step,
        StepUsage,
        TenantScope,
        TraceCoverage,
        VersionQuality,
        VersionRef,
        WriteStepInput,
        WriteStepOutput,
        decision_problem,
        revision_feedback,
    )
    from docflow.failures import public_reason
    from docflow.memory.contracts import IndexInput, IndexOutput
    from docflow.quality.contracts import ScoreInput, ScoreOutput, VersionScore
    from workflows import search_attributes
    from workflows.memory import IndexVersions, index_versions

NON_RETRYABLE = ["NotFound", "InvalidInput"]
# Retries are bounded by time, not by count: a transient fault (PostgreSQL, Valkey or the
# worker gone for minutes) is ridden out for RIDE_OUT since the activity was first
# scheduled; only an error raised as final (non-retryable) ends it at once.
RIDE_OUT = timedelta(minutes=15)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
    non_retryable_error_types=NON_RETRYABLE,
)
# Every activity heartbeats (activities.heartbeats): a dead worker's work moves on after
# HEARTBEAT, not after its whole start-to-close timeout.
HEARTBEAT = timedelta(seconds=10)
# A slow LLM writing a long step; finished sections are kept, so a retry resumes.
AGENT_TIMEOUT = timedelta(minutes=60)
STORE_TIMEOUT = timedelta(seconds=30)
SCORE_TIMEOUT = timedelta(minutes=2)
EXPORT_TIMEOUT = timedelta(minutes=2)
# Runs started before quality scoring existed replay without it (workflow.patched).
QUALITY_PATCH = "quality-gate-1"
MEMORY_PATCH = "project-memory-1"
# A failed automatic quality revision opens the gate on the last valid version.
KEEP_VALID_PATCH = "keep-valid-version-1"
# Accepted documents are indexed into memory beside the next step, not before it, by an
# IndexVersions child workflow that outlives the run.
MEMORY_BESIDE_PATCH = "memory-beside-next-step-1"
# An approval's Update answers once the step is accepted, not when the next gate opens.
APPROVE_ANSWERS_PATCH = "approve-answers-on-accept-1"


@workflow.defn(name="ProjectFlow")
class ProjectFlow:
    @workflow.init
    def __init__(self, flow: FlowInput) -> None:
        self._flow = flow
        self._scope = TenantScope(tenant_id=flow.tenant_id, project_id=flow.project_id)
        self._status = RunStatus.RUNNING
        self._step: Step | str = STEPS[0]
        self._gate: Gate | None = None
        self._gates_opened = 0
        self._quality: list[VersionQuality] = []
        self._coverage: TraceCoverage | None = None  # of the last scoring
        self._pending: Decision | None = None
        self._accepted: dict[Step, list[VersionRef]] = {}
        self._usage: dict[Step, StepUsage] = {}
        self._events: list[FlowEvent] = []
        self._export_id: Any = None
        self._error: str | None = None
        self._indexings: set[asyncio.Task[None]] = set()  # watching IndexVersions children

    # --- messages ---------------------------------------------------------------------

    @workflow.query
    def state(self) -> FlowState:
        return self._snapshot(with_events=True)

    @workflow.query
    def events_after(self, after: int) -> EventPage:
        """The events numbered above ``after`` (numbers run on from ``first_seq``)."""
        start = max(0, after + 1 - self._flow.first_seq)
        return EventPage(tenant_id=self._flow.tenant_id, project_id=self._flow.project_id,
                         events=self._events[start:])  # fmt: skip

    @workflow.update
    async def decide(self, decision: Decision) -> FlowState:
        """Take a decision at the open gate; answers once the flow has acted on it: an
        approval once the step is accepted (the next agent is starting), a revision or an
        edit once the new gate is open, the last approval once the package is exported."""
        gate_number = self._gates_opened
        self._pending = decision
        on_accept = decision.action is Action.APPROVE and workflow.patched(APPROVE_ANSWERS_PATCH)
        await workflow.wait_condition(lambda: self._acted_on(decision, gate_number, on_accept))
        return self._snapshot(with_events=False)

    def _acted_on(self, decision: Decision, gate_number: int, on_accept: bool) -> bool:
        if self._pending is not None or self._status is RunStatus.EXPORTING:
            return False
        if on_accept and decision.step in self._accepted:
            return True
        return self._gates_opened > gate_number or self._status is not RunStatus.RUNNING

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        if self._pending is not None:
            raise ValueError("a decision for this gate is already being processed")
        gate = self._gate if self._status is RunStatus.AWAITING_APPROVAL else None
        problem = decision_problem(decision, gate)
        if problem is not None:
            raise ValueError(problem)

    # --- the flow ---------------------------------------------------------------------

    @workflow.run
    async def run(self, flow: FlowInput) -> FlowResult:
        self._emit("run_started", auto_approve=flow.options.auto_approve)
        try:
            for step in STEPS:
                await self._run_step(step)
            export = await self._export()
        except ActivityError as error:
            await self._fail(error)
            raise ApplicationError(self._error or "the run failed") from error
        except asyncio.CancelledError:
            self._gate = None
            self._set_status(RunStatus.CANCELLED, self._step)
            self._emit("run_cancelled")
            raise
        self._set_status(RunStatus.COMPLETED, "done")
        self._emit("run_completed", export_id=str(export.export_id), sha256=export.sha256)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return FlowResult(export_id=export.export_id, accepted=self._accepted)

    async def _run_step(self, step: Step) -> None:
        already = self._flow.accepted.get(step)
        if already:
            self._accepted[step] = already
            self._emit("step_skipped", step, reason="accepted in an earlier run")
            return
        feedback: list[str] = []
        versions = await self._write_until_good(step, feedback)
        while True:
            decision = await self._await_decision(step, versions)
            if decision.action is Action.APPROVE:
                await self._accept(step, versions)
                return
            if decision.action is Action.REVISE:
                feedback.append(revision_feedback(decision))
                versions = await self._write_until_good(
                    step, feedback, carry=versions, comments=decision.comments
                )
            else:
                versions = await self._save_edit(decision, versions)
                if workflow.patched(QUALITY_PATCH):
                    await self._score(step, versions)

    async def _write_until_good(
        self,
        step: Step,
        feedback: list[str],
        carry: list[VersionRef] | None = None,
        comments: list[PassageComment] | None = None,
    ) -> list[VersionRef]:
        """Write, score, and send a version below the thresholds back to its agent with
        the findings, at most ``max_quality_revisions`` times; the gate shows the rest.
        A person's edit in ``carry`` (the gate's versions) is re-applied to each write;
        the revision's ``comments`` are kept with each version written for them."""
        versions = await self._write(step, feedback, carry=carry, comments=comments)
        if not workflow.patched(QUALITY_PATCH):
            return versions
        for _ in range(self._flow.options.max_quality_revisions):
            score = await self._score(step, versions)
            if score.passed:
                return versions
            self._emit("quality_revision", step, findings=score.feedback[:2000])
            revised = self._write_key(step, feedback)
            failing = [version.path for version in score.scores if not version.passed]
            feedback.append(f"Quality review (automatic): {score.feedback}")
            if not workflow.patched(KEEP_VALID_PATCH):
                versions = await self._write(step, feedback, carry=versions, comments=comments)
                continue
            try:
                # Only the sections behind the failing documents are written again.
                versions = await self._write(
                    step, feedback, revised, failing, carry=versions, comments=comments
                )
            except ActivityError as error:
                # The stored version is valid: the gate opens on it, with its findings.
                self._emit("quality_revision_failed", step, reason=_reason(error, step))
                return versions
        await self._score(step, versions)
        return versions

    async def _score(self, step: Step, versions: list[VersionRef]) -> ScoreOutput:
        score: ScoreOutput = await workflow.execute_activity(
            "score_versions",
            ScoreInput(scope=self._scope, version_ids=[ref.version_id for ref in versions]),
            result_type=ScoreOutput,
            start_to_close_timeout=SCORE_TIMEOUT,
            schedule_to_close_timeout=RIDE_OUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        self._quality = [_gate_quality(version) for version in score.scores]
        self._coverage = score.traceability
        for version in score.scores:
            self._emit(
                "quality_report",
                step,
                version_id=str(version.version_id),
                path=version.path,
                version=version.version,
                passed=version.passed,
                errors=version.errors,
                warnings=version.warnings,
                flesch_reading_ease=version.flesch_reading_ease,
                flesch_kincaid_grade=version.flesch_kincaid_grade,
            )
        return score

    def _write_key(self, step: Step, feedback: list[str]) -> str:
        return self._key(f"{step}:write:{len(feedback)}")

    async def _write(
        self,
        step: Step,
        feedback: list[str],
        revise_from: str | None = None,
        rewrite_paths: list[str] | None = None,
        carry: list[VersionRef] | None = None,
        comments: list[PassageComment] | None = None,
    ) -> list[VersionRef]:
        self._set_status(RunStatus.RUNNING, step)
        self._emit("step_started", step, agent_revision=len(feedback))
        output: WriteStepOutput = await workflow.execute_activity(
            "write_step",
            WriteStepInput(
                scope=self._scope,
                step=step,
                feedback=list(feedback),
                idempotency_key=self._write_key(step, feedback),
                requested_by=self._flow.requested_by,
                revise_from=revise_from,
                rewrite_paths=rewrite_paths or [],
                carry_version_ids=[ref.version_id for ref in carry or []],
                comments=list(comments or []),
            ),
            result_type=WriteStepOutput,
            start_to_close_timeout=AGENT_TIMEOUT,
            schedule_to_close_timeout=AGENT_TIMEOUT + RIDE_OUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        for ref in output.versions:
            self._emit_version(step, ref, source=ref.source, writer=output.writer)
        self._usage[step] = output.usage
        usage = output.usage
        self._emit("step_finished", step, documents=len(output.versions),
                   sections=usage.sections, tokens_in=usage.tokens_in,
                   tokens_out=usage.tokens_out, writer=output.writer,
                   duration_ms=usage.duration_ms)  # fmt: skip
        return output.versions

    async def _save_edit(self, decision: Decision, versions: list[VersionRef]) -> list[VersionRef]:
        assert decision.document_id is not None  # the validator guarantees it for edits
        self._set_status(RunStatus.RUNNING, decision.step)
        edited: VersionRef = await workflow.execute_activity(
            "save_edit",
            SaveEditInput(
                scope=self._scope,
                document_id=decision.document_id,
                content_md=decision.content or "",
                idempotency_key=self._key(f"{decision.step}:edit:{self._gates_opened}"),
                edited_by=decision.decided_by,
            ),
            result_type=VersionRef,
            start_to_close_timeout=STORE_TIMEOUT,
            schedule_to_close_timeout=RIDE_OUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        self._emit_version(decision.step, edited, source="edit", writer="human")
        return [edited if ref.document_id == edited.document_id else ref for ref in versions]

    async def _await_decision(self, step: Step, versions: list[VersionRef]) -> Decision:
        self._gates_opened += 1
        current = {ref.version_id for ref in versions}
        quality = [item for item in self._quality if item.version_id in current]
        self._gate = Gate(step=step, number=self._gates_opened, versions=versions, quality=quality,
                          usage=self._usage.get(step),
                          coverage=self._coverage if quality else None)  # fmt: skip
        self._set_status(RunStatus.AWAITING_APPROVAL, step)
        self._emit("awaiting_approval", step, gate=self._gates_opened)
        if self._flow.options.auto_approve:
            decision = Decision(step=step, action=Action.APPROVE, decided_by="auto-approve")
        else:
            await workflow.wait_condition(lambda: self._pending is not None)
            assert self._pending is not None
            decision = self._pending
        self._gate = None
        self._set_status(RunStatus.RUNNING, step)
        self._emit("decision", step, action=decision.action.value, by=decision.decided_by)
        self._pending = None
        return decision

    async def _accept(self, step: Step, versions: list[VersionRef]) -> None:
        await workflow.execute_activity(
            "accept_step",
            AcceptInput(
                scope=self._scope, step=step, version_ids=[ref.version_id for ref in versions]
            ),
            result_type=int,
            start_to_close_timeout=STORE_TIMEOUT,
            schedule_to_close_timeout=RIDE_OUT,
            heartbeat_timeout=HEARTBEAT,
            retry_policy=RETRY,
        )
        self._accepted[step] = versions
        self._emit("step_accepted", step, versions=[ref.version for ref in versions])
        if not workflow.patched(MEMORY_PATCH):
            return
        if workflow.patched(MEMORY_BESIDE_PATCH):
            self._remember_beside(step, versions)
        else:
            await self._remember(step, versions)

    def _remember_beside(self, step: Step, versions: list[VersionRef]) -> None:
        """Index the accepted versions in an ``IndexVersions`` child workflow while the flow
        goes on: the next agent reads the upstream documents in full, not through memory.
        The child outlives the run (``ParentClosePolicy.ABANDON``): the run completes once
        its package is exported, and memory catches up on its own (its activity retried for
        up to 25 minutes, ``workflows.memory.index_versions``).
        ``memory_indexed`` follows while the run is still open to see it."""
        task = asyncio.create_task(self._index_in_child(step, versions))
        self._indexings.add(task)
        task.add_done_callback(self._indexings.discard)

    async def _index_in_child(self, step: Step, versions: list[VersionRef]) -> None:
        info = workflow.info()
        self._emit("memory_indexing", step, documents=len(versions))
        attributes = TypedSearchAttributes([
            SearchAttributePair(search_attributes.TENANT_ID, str(self._flow.tenant_id)),
            SearchAttributePair(search_attributes.PROJECT_ID, str(self._flow.project_id)),
        ])  # fmt: skip
        try:
            indexed = await workflow.execute_child_workflow(
                IndexVersions.run,
                IndexInput(scope=self._scope, version_ids=[ref.version_id for ref in versions]),
                id=f"{info.workflow_id}-memory-{info.run_id[:8]}-{step.value}-{self._gates_opened}",
                task_queue=info.task_queue,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=attributes,
            )
        except (ChildWorkflowError, WorkflowAlreadyStartedError) as error:
            # Memory helps the agents; the package does not depend on it.
            self._emit("memory_failed", step, reason=_child_reason(error, step))
            return
        self._emit_indexed(step, indexed)

    async def _remember(self, step: Step, versions: list[VersionRef]) -> None:
        """Accepted versions go into project memory, replacing their earlier versions."""
        indexed = await index_versions(
            IndexInput(scope=self._scope, version_ids=[ref.version_id for ref in versions]), RETRY
        )
        self._emit_indexed(step, indexed)

    def _emit_indexed(self, step: Step, indexed: IndexOutput) -> None:
        self._emit("memory_indexed", step, documents=indexed.documents, chunks=indexed.chunks,
                   embedded=indexed.embedded)  # fmt: skip

    async def _export(self) -> ExportOutput:
        self._set_status(RunStatus.EXPORTING, "export")
        self._emit("export_started")
        export = await export_package(
            ExportInput(scope=self._scope, idempotency_key=self._key("export"))
        )
        self._export_id = export.export_id
        self._emit("export_finished", export_id=str(export.export_id), size=export.size)
        return export

    async def _fail(self, error: ActivityError) -> None:
        self._error = _reason(error, self._step)
        self._gate = None
        self._set_status(RunStatus.FAILED, self._step)
        self._emit("run_failed", reason=self._error)

    # --- state helpers ----------------------------------------------------------------

    def _key(self, suffix: str) -> str:
        return f"{workflow.info().workflow_id}:{workflow.info().run_id}:{suffix}"

    def _set_status(self, status: RunStatus, step: Step | str) -> None:
        self._status, self._step = status, step
        workflow.upsert_search_attributes(
            [
                search_attributes.STEP.value_set(str(step)),
                search_attributes.STATUS.value_set(status.value),
            ]
        )

    def _emit(self, event_type: str, step: Step | None = None, **data: Any) -> None:
        self._events.append(
            FlowEvent(
                seq=self._flow.first_seq + len(self._events),
                at=workflow.now(),
                type=event_type,
                step=step,
                data=data,
            )
        )

    def _emit_version(self, step: Step, ref: VersionRef, *, source: str, writer: str) -> None:
        self._emit(
            "version_created",
            step,
            document_id=str(ref.document_id),
            version_id=str(ref.version_id),
            path=ref.path,
            version=ref.version,
            source=source,
            writer=writer,
        )

    def _snapshot(self, *, with_events: bool) -> FlowState:
        return FlowState(
            tenant_id=self._flow.tenant_id,
            project_id=self._flow.project_id,
            status=self._status,
            step=self._step if isinstance(self._step, Step) else _terminal_step(self._step),
            gate=self._gate,
            accepted=dict(self._accepted),
            export_id=self._export_id,
            error=self._error,
            events=list(self._events) if with_events else [],
        )


async def export_package(export: ExportInput) -> ExportOutput:
    """The ``export_package`` activity, as ProjectFlow and ExportPackage both run it."""
    result: ExportOutput = await workflow.execute_activity(
        "export_package",
        export,
        result_type=ExportOutput,
        start_to_close_timeout=EXPORT_TIMEOUT,
        schedule_to_close_timeout=RIDE_OUT,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=RETRY,
    )
    return result


def _gate_quality(score: VersionScore) -> VersionQuality:
    return VersionQuality(
        version_id=score.version_id,
        path=score.path,
        passed=score.passed,
        errors=score.errors,
        warnings=score.warnings,
        flesch_reading_ease=score.flesch_reading_ease,
        flesch_kincaid_grade=score.flesch_kincaid_grade,
        findings=[f"{finding.severity}: {finding.message}" for finding in score.top_findings],
    )


def _terminal_step(step: str) -> Any:
    return step if step in ("export", "done") else Step(step)


def _child_reason(error: ChildWorkflowError | WorkflowAlreadyStartedError, step: Step) -> str:
    """Why indexing failed, as a viewer may read it (the activity's own reason if any)."""
    cause = error.cause if isinstance(error, ChildWorkflowError) else None
    if isinstance(cause, ActivityError):
        return _reason(cause, step)
    return public_reason("index_versions", str(step), None, "", timed_out=False)


def _reason(error: ActivityError, step: Step | str) -> str:
    """The failure as a viewer may read it (``docflow.failures``): a message docflow wrote
    for people, or a sentence naming the step; never a database's or a driver's words."""
    cause = error.cause
    application = cause if isinstance(cause, ApplicationError) else None
    return public_reason(
        error.activity_type or "",
        str(step),
        application.type if application else None,
        application.message if application else "",
        timed_out=isinstance(cause, TimeoutError),
    )


@workflow.defn(name="ExportPackage")
class ExportPackage:
    """An export asked for through the API: one activity, its own workflow id."""

    @workflow.run
    async def run(self, export: ExportInput) -> ExportOutput:
        return await export_package(export)

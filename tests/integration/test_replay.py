"""Determinism guard: ProjectFlow replays recorded histories without a non-determinism error.

The committed history was recorded from a run with a revise, an edit and four approvals.
When the workflow changes on purpose, re-record it with
``DOCFLOW_RECORD_HISTORY=1 scripts/check -k replay`` and commit the new file.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from docflow.contracts import STEPS, Action, Decision, Step
from docflow.settings import Settings
from docflow.storage.models import Project
from tests.flow_helpers import decide, start, wait_for_gate
from worker.main import Workers
from workflows.project_flow import ProjectFlow

RECORDED = Path(__file__).resolve().parents[1] / "histories" / "project_flow.json"


def _replayer() -> Replayer:
    return Replayer(workflows=[ProjectFlow], data_converter=pydantic_data_converter)


async def _run_with_every_kind_of_decision(
    client: Client, settings: Settings, project: Project
) -> WorkflowHistory:
    handle = await start(client, settings, project)
    gate = await wait_for_gate(handle, Step.DESCRIPTION)
    assert gate.gate is not None
    about = gate.gate.versions[0]
    await decide(
        handle, Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback="Name the city")
    )
    await decide(
        handle,
        Decision(
            step=Step.DESCRIPTION,
            action=Action.EDIT,
            document_id=about.document_id,
            content="# About\n\nBy hand.\n",
        ),
    )
    for step in STEPS:
        await wait_for_gate(handle, step)
        await decide(handle, Decision(step=step, action=Action.APPROVE))
    await handle.result()
    return await handle.fetch_history()


async def test_a_fresh_history_replays(
    client: Client, worker: Workers, settings: Settings, project: Project
) -> None:
    history = await _run_with_every_kind_of_decision(client, settings, project)
    if os.environ.get("DOCFLOW_RECORD_HISTORY") == "1":
        RECORDED.write_text(history.to_json())
    await _replayer().replay_workflow(history)


async def test_the_recorded_history_replays() -> None:
    history = WorkflowHistory.from_json("recorded", RECORDED.read_text())
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure

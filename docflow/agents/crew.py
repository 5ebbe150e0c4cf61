"""Run one step's agent with CrewAI and render what it returns.

This module, ``offline`` and ``openai_llm`` are the only ones that import CrewAI (2.4 s, 1 GB):
the API process never imports them. CrewAI's telemetry, tracing prompt and version check
are switched off by default (``setdefault``: the environment still wins) before CrewAI
loads; OTEL_SDK_DISABLED is left alone, it would switch off our own tracing too. CrewAI's
own memory stays off: project memory is ours.
"""

from __future__ import annotations

import os

from docflow.agents import CREWAI_ENV_DEFAULTS

for _name, _value in CREWAI_ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402

from crewai import Agent, BaseLLM, Crew, CrewOutput, Process, Task  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from docflow.agents.contracts import CONTRACT_FOR_STEP  # noqa: E402
from docflow.agents.offline import OFFLINE_WRITER_LABEL, OfflineWriter  # noqa: E402
from docflow.agents.openai_llm import OpenAICompatibleLLM  # noqa: E402
from docflow.agents.render import render_contract  # noqa: E402
from docflow.contracts import STEP_AGENT, Step, StepBrief, StepWriting  # noqa: E402
from docflow.settings import Settings  # noqa: E402

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class Role:
    goal: str
    backstory: str
    expected_output: str


@dataclass(frozen=True)
class Writer:
    """The LLM an agent writes with, and how the version metadata names it."""

    llm: BaseLLM
    label: str


class WriterOutputError(RuntimeError):
    """The writer's answer did not fill the step's contract."""


ROLES: dict[Step, Role] = {
    Step.DESCRIPTION: Role(
        goal="Describe the project so clearly that everyone agrees what is being built, for "
        "whom and why.",
        backstory="A business analyst who turns rough ideas into crisp problem statements, user "
        "groups, measurable goals and the questions that still need an answer.",
        expected_output="docs/about.md as a ProjectDescription: problem and context, target "
        "users and their needs, goals and non-goals, key features as user-facing capabilities, "
        "constraints, assumptions, open questions and success metrics with numbers.",
    ),
    Step.ARCHITECTURE: Role(
        goal="Design an architecture that fits the idea, the team and the constraints, and "
        "record every key decision with its alternatives.",
        backstory="A pragmatic solution architect who prefers few moving parts, writes C4 models "
        "and ADRs, and explains trade-offs in plain words.",
        expected_output="docs/architecture.md and one ADR per key decision as an "
        "ArchitectureDescription: context, constraints, rationale, actors, containers, "
        "components of the main container, relationships, technology stack with a reason per "
        "choice, data model, security, observability, resilience, scalability, risks and "
        "decisions with options, pros and cons.",
    ),
    Step.PLAN: Role(
        goal="Plan the delivery as ordered epics that fit the team and the timeline.",
        backstory="A delivery lead who slices work into thin end-to-end increments, estimates "
        "honestly and names the risks to the schedule.",
        expected_output="docs/plans as an ImplementationPlan: strategy, team and capacity, "
        "phases, milestones, epics in order (the first 'Infrastructure', the last 'Testing', the "
        "ones between following the architecture's components) with goal, scope, out of scope, "
        "tasks, dependencies, testable acceptance criteria, effort and weeks, and schedule "
        "risks.",
    ),
    Step.STANDARDS: Role(
        goal="Set engineering standards that keep the codebase healthy and the product within "
        "its non-functional targets.",
        backstory="A staff engineer who writes rules that CI can check, with numbers instead of "
        "adjectives.",
        expected_output="docs/specs.md as EngineeringStandards: coding standards per language "
        "in the stack, repository and branching, code review, testing strategy and coverage "
        "targets, CI quality gates, documentation standards, Definition of Done, "
        "non-functional requirements with numbers, security standards and project rules.",
    ),
}


def select_writer(brief: StepBrief, settings: Settings) -> Writer:
    """The one place that decides which LLM writes: offline (default) or OpenAI-compatible."""
    if settings.llm_provider == "offline":
        writer = OfflineWriter.for_brief(brief, settings.llm_offline_latency_ms)
        return Writer(llm=writer, label=OFFLINE_WRITER_LABEL)
    if settings.llm_provider == "openai":
        llm = OpenAICompatibleLLM.for_step(settings, brief.step)
        return Writer(llm=llm, label=llm.model)
    raise ValueError(
        f"unknown DOCFLOW_LLM_PROVIDER {settings.llm_provider!r}: use 'offline' or 'openai'"
    )


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body.strip() or 'None.'}"


def task_description(brief: StepBrief) -> str:
    """What the agent is asked to do: the idea, constraints, feedback and upstream documents."""
    feedback = "\n".join(f"{n}. {item}" for n, item in enumerate(brief.feedback, 1))
    upstream = "\n\n".join(f"### {doc.path}\n\n{doc.content_md.strip()}" for doc in brief.upstream)
    memory = "\n\n".join(
        f"- {chunk.path} (v{chunk.version}, score {chunk.score:.2f}): {chunk.text.strip()}"
        for chunk in brief.memory
    )
    return "\n\n".join(
        [
            f"Write the {brief.step.value} documents of the project "
            f"\u201c{brief.project_name}\u201d for its documentation package.",
            _section("Idea", brief.idea),
            _section("Constraints", brief.constraints),
            _section("Review feedback to address, oldest first (quote each in revision_notes)",
                     feedback),
            _section("Accepted upstream documents (stay consistent with them)", upstream),
            _section("Relevant passages from project memory, best first", memory),
        ]
    )  # fmt: skip


def _run_crew(brief: StepBrief, writer: Writer) -> tuple[BaseModel, int, int]:
    contract = CONTRACT_FOR_STEP[brief.step]
    role = ROLES[brief.step]
    agent = Agent(
        role=STEP_AGENT[brief.step],
        goal=role.goal,
        backstory=role.backstory,
        llm=writer.llm,
        allow_delegation=False,
        memory=False,
        verbose=False,
        max_retry_limit=0,  # Temporal owns retries; no hidden second layer underneath
    )
    task = Task(
        description=task_description(brief),
        expected_output=role.expected_output,
        agent=agent,
        output_pydantic=contract,
    )
    crew = Crew(
        agents=[agent],
        tasks=[task],
        process=Process.sequential,
        memory=False,
        verbose=False,
        tracing=False,
    )
    result = crew.kickoff()
    if not isinstance(result, CrewOutput) or not isinstance(result.pydantic, contract):
        raise WriterOutputError(f"{writer.label} did not return a {contract.__name__}")
    usage = result.token_usage
    return result.pydantic, usage.prompt_tokens, usage.completion_tokens


def write_step(
    brief: StepBrief,
    settings: Settings,
    today: date,
    on_progress: ProgressCallback | None = None,
) -> StepWriting:
    """Write one step's documents with its agent; ``today`` dates the ADRs."""
    report = on_progress or (lambda _message: None)
    agent_name = STEP_AGENT[brief.step]
    report(f"{agent_name} started the {brief.step.value} step")
    writer = select_writer(brief, settings)
    contract, tokens_in, tokens_out = _run_crew(brief, writer)
    documents = render_contract(contract, today)
    report(f"{agent_name} finished: {len(documents)} document(s)")
    return StepWriting(
        documents=documents, writer=writer.label, tokens_in=tokens_in, tokens_out=tokens_out
    )

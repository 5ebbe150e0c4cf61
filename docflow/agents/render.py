"""Pure rendering: an agent's contract -> the Markdown documents of the package.

Our code writes every heading, table and diagram, so the structure PACKAGE.md asks for
holds whatever text the writer put into the contract. Headings never skip a level (one
#, then ##, then ###), text from the contract cannot start a heading, ADRs are numbered
ADR-NNN-<slug>.md and linked from architecture.md, and epics are files NN-<slug>.md with
Infrastructure first and Testing last.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel

from docflow.agents.contracts import (
    ArchitectureDescription,
    EngineeringStandards,
    Epic,
    ImplementationPlan,
    KeyDecision,
    LanguageStandard,
    ProjectDescription,
    RequestedSection,
    RevisionNote,
    Risk,
)
from docflow.agents.markdown import (
    bullets,
    checklist,
    document,
    fenced,
    inline,
    numbered,
    paragraph,
    quote,
    slugify,
    table,
)
from docflow.agents.mermaid import (
    component_diagram,
    container_diagram,
    context_diagram,
    entity_diagram,
)
from docflow.clarify import SUGGESTION_SEPARATOR, question_ids
from docflow.contracts import RenderedDocument, Requirement, Step, StepBrief
from docflow.traceability import assign_ids, cited_ids

ABOUT_PATH = "docs/about.md"
ARCHITECTURE_PATH = "docs/architecture.md"
ADR_DIR = "docs/adr"
PLANS_DIR = "docs/plans"
SPECS_PATH = "docs/specs.md"


_NO_BRIEF = StepBrief(step=Step.DESCRIPTION, project_name="", idea="")


def render_contract(
    contract: BaseModel, today: date, brief: StepBrief | None = None
) -> list[RenderedDocument]:
    """The documents of one step, whichever agent's contract this is. From ``brief``, a
    description keeps the ids of the requirements and questions it had, and shows the
    answers given to its questions."""
    if isinstance(contract, ProjectDescription):
        return render_about(contract, brief or _NO_BRIEF)
    if isinstance(contract, ArchitectureDescription):
        return render_architecture(contract, today)
    if isinstance(contract, ImplementationPlan):
        return render_plan(contract)
    if isinstance(contract, EngineeringStandards):
        return render_standards(contract)
    raise TypeError(f"no renderer for {type(contract).__name__}")


# --- shared sections -----------------------------------------------------------------------------


def _with_requested(blocks: list[str], sections: Sequence[RequestedSection], at: int) -> list[str]:
    """The document with the sections review feedback asked for inserted at ``at``, each
    under its own heading; a heading the document already has is marked as asked for, so
    no heading appears twice (the parser and markdownlint read headings)."""
    taken = {block.casefold() for block in blocks if block.startswith("## ")}
    requested: list[str] = []
    for section in sections:
        heading = f"## {inline(section.heading)}"
        if heading.casefold() in taken:
            heading += " (asked for in review)"
        taken.add(heading.casefold())
        requested += [heading, *map(paragraph, section.paragraphs)]
    return [*blocks[:at], *requested, *blocks[at:]]


def _revision_notes(notes: Sequence[RevisionNote]) -> list[str]:
    if not notes:
        return []
    blocks = ["## Revision notes"]
    for number, note in enumerate(notes, 1):
        blocks += [f"### Revision {number}", quote(note.feedback), paragraph(note.change)]
    return blocks


def _risk_table(risks: Sequence[Risk]) -> str:
    rows = [(r.description, r.likelihood, r.impact, r.mitigation) for r in risks]
    return table(("Risk", "Likelihood", "Impact", "Mitigation"), rows)


# --- about.md ------------------------------------------------------------------------------------


def _requirement_tables(model: ProjectDescription, known: Sequence[Requirement]) -> tuple[str, str]:
    """The features (FR ids) and the non-functional requirements (NFR ids), as tables."""
    fr_ids = assign_ids("functional", [f.name for f in model.features], known)
    nfr_ids = assign_ids(
        "non-functional", [q.requirement for q in model.quality_requirements], known
    )
    features = [
        (id_, f.name, f.description, f.priority.capitalize())
        for id_, f in zip(fr_ids, model.features, strict=True)
    ]
    quality = [
        (id_, q.requirement, q.area, q.priority.capitalize())
        for id_, q in zip(nfr_ids, model.quality_requirements, strict=True)
    ]
    return (
        table(("ID", "Feature", "What it lets users do", "Priority"), features),
        table(("ID", "Requirement", "Area", "Priority"), quality),
    )


def _questions(model: ProjectDescription, brief: StepBrief) -> list[str]:
    """The answered questions ("Decisions from clarification") and the open ones, each
    with its id; an answered question is no longer open."""
    ids = question_ids([q.question for q in model.open_questions], brief.known_questions)
    answered = {answer.question_id for answer in brief.answers}
    still_open = [
        (id_, q.question, q.why, SUGGESTION_SEPARATOR.join(q.suggested_answers))
        for id_, q in zip(ids, model.open_questions, strict=True)
        if id_ not in answered
    ]
    blocks = []
    if brief.answers:
        rows = [(a.question_id, a.question, a.answer) for a in brief.answers]
        blocks += [
            "## Decisions from clarification",
            "The answers given to the clarifying questions; every later step works from them.",
            table(("ID", "Question", "Answer"), rows),
        ]
    blocks += [
        "## Open questions",
        "Answer these at the review of this description: the next version is written from "
        "the answers.",
        table(("ID", "Question", "Why it matters", "Suggested answers"), still_open)
        if still_open
        else "None: every question has an answer.",
    ]
    return blocks


def render_about(model: ProjectDescription, brief: StepBrief) -> list[RenderedDocument]:
    title = f"{model.project_name}: Project description"
    users = [
        block
        for user in model.users
        for block in (f"### {inline(user.name)}", paragraph(user.description), bullets(user.needs))
    ]
    features, quality = _requirement_tables(model, brief.known_requirements)
    metrics = [(m.name, m.target, m.measurement) for m in model.success_metrics]
    questions = _questions(model, brief)
    blocks = [
        f"# {title}",
        paragraph(model.summary),
        "## Problem and context",
        "### Problem",
        paragraph(model.problem),
        "### Context",
        paragraph(model.context),
        "## Target users",
        "Who the project serves and what each group needs from it.",
        *users,
        "## Goals",
        bullets(model.goals),
        "## Non-goals",
        bullets(model.non_goals),
        "## Key features",
        "Each requirement keeps its id across versions; the other documents cite it.",
        features,
        "## Non-functional requirements",
        quality,
        "## Constraints",
        table(
            ("Area", "Constraint"),
            [(c.area.capitalize(), c.description) for c in model.constraints],
        ),
        "## Assumptions",
        bullets(model.assumptions),
        *questions,
        "## Success metrics",
        table(("Metric", "Target", "How it is measured"), metrics),
        *_revision_notes(model.revision_notes),
    ]
    blocks = _with_requested(blocks, model.requested_sections, blocks.index(questions[0]))
    return [
        RenderedDocument(path=ABOUT_PATH, kind="about", title=title, content_md=document(blocks))
    ]


# --- architecture.md and the ADRs ----------------------------------------------------------------


def adr_path(number: int, decision: KeyDecision) -> str:
    return f"{ADR_DIR}/{adr_id(number)}-{slugify(decision.title, 'decision')}.md"


def adr_id(number: int) -> str:
    return f"ADR-{number:03d}"


def _adr_link(number: int, decision: KeyDecision) -> str:
    relative = adr_path(number, decision).removeprefix("docs/")
    return f"[{adr_id(number)}: {inline(decision.title)}]({relative})"


def _options_considered(decisions: Sequence[KeyDecision]) -> str:
    lines = [
        f"- {_adr_link(n, d)}: {'; '.join(inline(o.name) for o in d.options) or 'one option'}."
        for n, d in enumerate(decisions, 1)
    ]
    return "\n".join(lines) or "- No alternatives were recorded."


def _decision_table(decisions: Sequence[KeyDecision]) -> str:
    rows = [(_adr_link(n, d), inline(d.decision), d.status) for n, d in enumerate(decisions, 1)]
    return table(("Decision record", "What we decided", "Status"), rows)


def _c4_sections(model: ArchitectureDescription) -> list[str]:
    containers = [(c.name, c.technology, c.responsibility) for c in model.containers]
    components = [(c.name, c.technology, c.responsibility) for c in model.components]
    return [
        "## C4 diagrams",
        "### System context",
        fenced("mermaid", context_diagram(model)),
        "### Containers",
        fenced("mermaid", container_diagram(model)),
        table(("Container", "Technology", "Responsibility"), containers),
        f"### Components of the {inline(model.main_container)}",
        fenced("mermaid", component_diagram(model)),
        table(("Component", "Technology", "Responsibility"), components),
    ]


def _data_model(model: ArchitectureDescription) -> list[str]:
    rows = [(e.name, e.description, ", ".join(e.attributes)) for e in model.entities]
    return [
        "## Data model",
        fenced("mermaid", entity_diagram(model.entities, model.entity_relations)),
        table(("Entity", "What it holds", "Main attributes"), rows),
    ]


def _cross_cutting(model: ArchitectureDescription) -> list[str]:
    return [
        "## Cross-cutting concerns",
        "### Security and tenancy",
        bullets(model.security),
        "### Observability",
        bullets(model.observability),
        "### Resilience",
        bullets(model.resilience),
        "### Scalability",
        bullets(model.scalability),
    ]


def render_architecture(model: ArchitectureDescription, today: date) -> list[RenderedDocument]:
    title = f"{model.system_name}: Architecture"
    stack = [(t.layer, t.technology, t.reason) for t in model.technology_stack]
    blocks = [
        f"# {title}",
        "## Context",
        paragraph(model.context),
        "## Constraints",
        bullets(model.constraints),
        "## Options considered",
        _options_considered(model.decisions),
        "## Rationale",
        paragraph(model.rationale),
        "## Decisions",
        _decision_table(model.decisions),
        *_c4_sections(model),
        "## Technology stack",
        table(("Layer", "Technology", "Why"), stack),
        *_data_model(model),
        *_cross_cutting(model),
        "## Risks",
        _risk_table(model.risks),
    ]
    notes = _revision_notes(model.revision_notes)
    blocks = _with_requested(blocks, model.requested_sections, len(blocks)) + notes
    architecture = RenderedDocument(
        path=ARCHITECTURE_PATH, kind="architecture", title=title, content_md=document(blocks)
    )
    adrs = [render_adr(n, d, today) for n, d in enumerate(model.decisions, 1)]
    return [architecture, *adrs]


def _adr_option(number: int, name: str, pros: Sequence[str], cons: Sequence[str]) -> list[str]:
    return [
        f"### Option {number}: {inline(name)}",
        "Pros:",
        bullets(pros),
        "Cons:",
        bullets(cons),
    ]


def _ids(values: Sequence[str], none: str = "no requirement recorded") -> str:
    """The requirement ids in ``values``, as "FR-001, NFR-002", or ``none``."""
    ids = cited_ids(" ".join(values))
    return ", ".join(ids) if ids else none


def render_adr(number: int, decision: KeyDecision, today: date) -> RenderedDocument:
    title = f"{adr_id(number)}: {inline(decision.title)}"
    options = [
        block
        for n, option in enumerate(decision.options, 1)
        for block in _adr_option(n, option.name, option.pros, option.cons)
    ]
    blocks = [
        f"# {title}",
        f"Date: {today.isoformat()}",
        f"Status: {decision.status}",
        f"Serves: {_ids(decision.serves)}",
        "## Context",
        paragraph(decision.context),
        "## Options",
        *(options or ["No alternatives were considered."]),
        "## Decision",
        paragraph(decision.decision),
        "## Consequences",
        "### Positive",
        bullets(decision.positive_consequences),
        "### Negative",
        bullets(decision.negative_consequences),
        "### Risks",
        bullets(decision.risks),
        "### What to monitor",
        bullets(decision.monitoring),
    ]
    return RenderedDocument(
        path=adr_path(number, decision), kind="adr", title=title, content_md=document(blocks)
    )


# --- plans/overview.md and plans/NN-<epic>.md ----------------------------------------------------


def ordered_epics(epics: Sequence[Epic]) -> list[Epic]:
    """Infrastructure first and Testing last, whatever order the writer used."""
    first = [e for e in epics if slugify(e.name, "epic").startswith("infrastructure")]
    last = [e for e in epics if slugify(e.name, "epic").startswith("testing") and e not in first]
    middle = [e for e in epics if e not in first and e not in last]
    return [*first, *middle, *last]


def epic_file(number: int, epic: Epic) -> str:
    return f"{number:02d}-{slugify(epic.name, 'epic')}.md"


def _epic_links(epics: Sequence[Epic]) -> dict[str, str]:
    return {e.name: f"[{inline(e.name)}]({epic_file(n, e)})" for n, e in enumerate(epics, 1)}


def _weeks(epic: Epic) -> str:
    return (
        f"{epic.start_week}"
        if epic.start_week == epic.end_week
        else f"{epic.start_week}-{epic.end_week}"
    )


def _gantt(epics: Sequence[Epic]) -> str:
    width = max((e.end_week for e in epics), default=1)
    label = max((len(e.name) for e in epics), default=4) + 4
    lines = ["Week".ljust(label) + "".join(str(w % 10) for w in range(1, width + 1))]
    for n, e in enumerate(epics, 1):
        bar = "".join("#" if e.start_week <= w <= e.end_week else "." for w in range(1, width + 1))
        lines.append(f"{n:02d} {inline(e.name)}".ljust(label) + bar)
    return fenced("text", "\n".join(lines))


def _phase_blocks(plan: ImplementationPlan, links: dict[str, str]) -> list[str]:
    blocks = []
    for phase in plan.phases:
        epics = ", ".join(links.get(name, inline(name)) for name in phase.epics)
        blocks += [
            f"### {inline(phase.name)}",
            paragraph(phase.goal),
            bullets([f"Epics: {epics or 'none'}", f"Exit criteria: {phase.exit_criteria}"]),
        ]
    return blocks


def _overview(plan: ImplementationPlan, epics: Sequence[Epic]) -> RenderedDocument:
    title = f"{plan.project_name}: Implementation plan"
    links = _epic_links(epics)
    rows = [
        (f"{n:02d}", links[e.name], ", ".join(links.get(d, d) for d in e.depends_on) or "None",
         str(e.effort_days), _weeks(e))
        for n, e in enumerate(epics, 1)
    ]  # fmt: skip
    milestones = [(m.name, str(m.week), m.deliverable) for m in plan.milestones]
    total = sum(e.effort_days for e in epics)
    blocks = [
        f"# {title}",
        "## Strategy",
        paragraph(plan.strategy),
        "### Team and capacity",
        paragraph(plan.team),
        "## Phases and milestones",
        *_phase_blocks(plan, links),
        "### Milestones",
        table(("Milestone", "Week", "Deliverable"), milestones),
        "## Epics",
        f"The epics in delivery order, {total} person-days in total.",
        table(("#", "Epic", "Depends on", "Effort (person-days)", "Weeks"), rows),
        "## Timeline",
        _gantt(epics),
        "## Schedule risks",
        _risk_table(plan.schedule_risks),
    ]
    notes = _revision_notes(plan.revision_notes)
    blocks = _with_requested(blocks, plan.requested_sections, len(blocks)) + notes
    return RenderedDocument(
        path=f"{PLANS_DIR}/overview.md",
        kind="plan_overview",
        title=title,
        content_md=document(blocks),
    )


def _epic_document(number: int, epic: Epic, links: dict[str, str]) -> RenderedDocument:
    title = f"Epic {number:02d}: {inline(epic.name)}"
    dependencies = [links.get(name, inline(name)) for name in epic.depends_on]
    blocks = [
        f"# {title}",
        "## Goal",
        paragraph(epic.goal),
        "Requirements delivered (see [about.md](../about.md)): "
        + _ids([*epic.tasks, *epic.acceptance_criteria], none="none cited")
        + ".",
        "## Scope",
        "### In scope",
        bullets(epic.scope),
        "### Out of scope",
        bullets(epic.out_of_scope),
        "## Tasks",
        checklist(epic.tasks),
        "## Dependencies",
        bullets(dependencies) if dependencies else "None: this epic can start first.",
        "## Acceptance criteria",
        numbered(epic.acceptance_criteria),
        "## Estimated effort",
        f"{epic.effort_days} person-days, planned for week {_weeks(epic)} of the timeline.",
    ]
    return RenderedDocument(
        path=f"{PLANS_DIR}/{epic_file(number, epic)}",
        kind="epic",
        title=title,
        content_md=document(blocks),
    )


def render_plan(plan: ImplementationPlan) -> list[RenderedDocument]:
    epics = ordered_epics(plan.epics)
    links = _epic_links(epics)
    documents = [_epic_document(n, e, links) for n, e in enumerate(epics, 1)]
    return [_overview(plan, epics), *documents]


# --- specs.md ------------------------------------------------------------------------------------


def _language_blocks(standard: LanguageStandard) -> list[str]:
    rows = [
        ("Formatting", standard.formatting),
        ("Linting", standard.linting),
        ("Typing", standard.typing),
    ]
    return [
        f"### {inline(standard.language)}",
        table(("Aspect", "Rule"), rows),
        bullets(standard.conventions),
    ]


def _quality(model: EngineeringStandards) -> list[str]:
    levels = [(t.level, t.scope, t.tools, t.when) for t in model.testing]
    coverage = [(c.scope, f"{c.minimum_percent}%") for c in model.coverage_targets]
    gates = [
        (g.name, g.tool, g.threshold, "Yes" if g.blocking else "No (reported)")
        for g in model.quality_gates
    ]
    return [
        "## Testing strategy",
        table(("Level", "Scope", "Tools", "When"), levels),
        "### Coverage targets",
        table(("Scope", "Minimum coverage"), coverage),
        "## Quality gates in CI",
        table(("Gate", "Tool", "Threshold", "Blocks merge"), gates),
    ]


def render_standards(model: EngineeringStandards) -> list[RenderedDocument]:
    title = f"{model.project_name}: Engineering standards"
    nfrs = [
        (n.area, n.requirement, n.target, n.measurement, _ids(n.serves, none="-"))
        for n in model.non_functional
    ]
    languages = [
        block for standard in model.coding_standards for block in _language_blocks(standard)
    ]
    blocks = [
        f"# {title}",
        paragraph(model.summary),
        "## Coding standards",
        *languages,
        "## Repository and branching",
        bullets(model.repository),
        "## Code review",
        bullets(model.code_review),
        *_quality(model),
        "## Documentation standards",
        bullets(model.documentation),
        "## Definition of Done",
        checklist(model.definition_of_done),
        "## Non-functional requirements",
        table(("Area", "Requirement", "Target", "How it is measured", "Serves"), nfrs),
        "## Security standards",
        bullets(model.security),
        "## Project-specific rules",
        bullets(model.project_rules),
    ]
    notes = _revision_notes(model.revision_notes)
    blocks = _with_requested(blocks, model.requested_sections, len(blocks)) + notes
    return [
        RenderedDocument(path=SPECS_PATH, kind="specs", title=title, content_md=document(blocks))
    ]

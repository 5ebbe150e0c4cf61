"""What a section's prompt carries: stable context first, only the parts a role reads."""

from __future__ import annotations

from docflow.agents.prompts import parts_under, role_of, step_context, upstream_digest
from docflow.contracts import RenderedDocument, Step, StepBrief

ARCHITECTURE = (
    "# X: Architecture\n\n## Context\n\nLong story.\n\n## C4 diagrams\n\n### Containers\n\n"
    "```mermaid\nC4Container\n```\n\n| Container | Technology |\n\n### Components of the API\n\n"
    "Parts.\n\n## Technology stack\n\n| Layer | Technology |\n\n## Risks\n\nSome.\n\n"
    "## Revision notes\n\n> feedback\n"
)


def test_a_role_reads_only_the_parts_under_its_headings() -> None:
    parts = parts_under(ARCHITECTURE, ["Containers", "Technology stack"])
    assert "### Containers" in parts and "## Technology stack" in parts
    assert "Long story" not in parts and "Components of the API" not in parts
    assert "Risks" not in parts
    assert parts_under(ARCHITECTURE, []) == ARCHITECTURE


def test_a_digest_drops_diagrams_and_revision_notes_and_is_capped() -> None:
    digest = upstream_digest(ARCHITECTURE, 10_000)
    assert "C4Container" not in digest and "feedback" not in digest
    assert len(upstream_digest("word " * 1000, 100)) <= 106


def test_every_section_of_a_step_shares_the_same_context_word_for_word() -> None:
    upstream = [RenderedDocument(path="docs/architecture.md", kind="architecture", title="A",
                                 content_md=ARCHITECTURE)]  # fmt: skip
    brief = StepBrief(step=Step.PLAN, project_name="X", idea="An idea.", upstream=upstream)
    context = step_context(brief, 6000)
    assert context.index("## Idea") < context.index("docs/architecture.md")
    assert "Technology stack" in context and "Long story" not in context
    assert {reading.kind for reading in role_of(Step.PLAN).reads} == {"about", "architecture"}

"""Write the offline writer's package for each sample idea, and compare the packages.

    .venv/bin/python -m bench.offline_packages [OUT_DIR]

For the README's sample and the ideas in ``tests/data/ideas/``, each of the four steps
is drafted and rendered in order, each reading the documents of the steps before it (as
the flow does, without Temporal or a database). The files go to OUT_DIR/<idea>/; the
script prints per idea the project name, the user groups and constraints about.md
states, the time taken, and any document two ideas share word for word.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.agents.render import render_contract
from docflow.contracts import RenderedDocument, Step, StepBrief
from docflow.ideas import name_from_idea
from docflow.offline.writer import draft_contract
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea

IDEAS = Path(__file__).resolve().parents[1] / "tests" / "data" / "ideas"
RENDER_DATE = date(2026, 12, 2)


def sample_ideas() -> dict[str, tuple[str, str]]:
    """name -> (idea, constraints): the README's sample, then the test ideas."""
    ideas = {"community-garden": (sample_idea(), SAMPLE_CONSTRAINTS)}
    for path in sorted(IDEAS.glob("*.md")):
        ideas[path.stem] = (path.read_text(encoding="utf-8"), "")
    return ideas


def write_package(idea: str, constraints: str, name: str = "") -> list[RenderedDocument]:
    """All four steps, each reading the accepted documents of the steps before it."""
    documents: list[RenderedDocument] = []
    for step in Step:
        brief = StepBrief(
            step=step,
            project_name=name or name_from_idea(idea) or "Untitled project",
            idea=idea,
            constraints=constraints,
            upstream=list(documents),
        )
        contract = draft_contract(brief, CONTRACT_FOR_STEP[step])
        documents += render_contract(contract, RENDER_DATE)
    return documents


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"\n## {heading}\n", 1)[-1].split("\n## ", 1)[0]


def _table_rows(markdown: str, heading: str) -> list[str]:
    lines = _section(markdown, heading).splitlines()
    return [line for line in lines if line.startswith("| ") and "---" not in line][1:]


def main(out: Path) -> None:
    packages: dict[str, list[RenderedDocument]] = {}
    for name, (idea, constraints) in sample_ideas().items():
        started = time.perf_counter()
        packages[name] = write_package(idea, constraints)
        elapsed = time.perf_counter() - started
        about = next(d.content_md for d in packages[name] if d.path.endswith("about.md"))
        print(f"{name}: {len(packages[name])} documents in {elapsed:.2f} s")
        print(f"  {about.splitlines()[0]}")
        for group in _section(about, "Target users").split("\n### ")[1:]:
            group_name, description = [*group.splitlines(), "", ""][0:3:2]
            print(f"  users: {group_name}: {description[:90]}")
        for row in _table_rows(about, "Constraints"):
            print(f"  constraint: {row[:110]}")
        for document in packages[name]:
            path = out / name / document.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document.content_md, encoding="utf-8")
    seen: dict[str, str] = {}
    shared = 0
    for name, documents in packages.items():
        for document in documents:
            earlier = seen.setdefault(document.content_md, f"{name}/{document.path}")
            if not earlier.startswith(f"{name}/"):
                shared += 1
                print(f"identical: {earlier} and {name}/{document.path}")
    print(f"documents shared word for word between ideas: {shared}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/docflow-offline-packages"))

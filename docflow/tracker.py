"""The plan as tracker issues: GitHub (REST API JSON and a ``gh api`` script), Jira and
Linear (CSV importers).

Everything is read from the plan's rendered epics (a person's edit included) through
``docflow.quality.parse``: the title, goal, tasks, dependencies and acceptance criteria
of each epic. One issue per task, grouped by its epic; the requirement ids a task or a
criterion cites (``docflow.traceability``) go with it. Pure functions: nothing here, nor
anywhere in the server, sends anything to a tracker.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from docflow.quality.parse import ParsedDocument, parse
from docflow.quality.sections import normalise
from docflow.traceability import cited_ids

TRACKER_DIR = "tracker"
GITHUB_FILE = "github-issues.json"
GITHUB_SCRIPT = "create_github_issues.py"
JIRA_FILE = "jira.csv"
LINEAR_FILE = "linear.csv"
GITHUB_FORMAT = "docflow-github-issues/1"
TITLE_LIMIT = 256  # GitHub's issue title limit
LABEL_LIMIT = 50  # GitHub's label name limit
_EPIC_TITLE = re.compile(r"^Epic\s+(\d+)\s*:\s*(.+)$")


@dataclass(frozen=True)
class TrackerTask:
    key: str  # "E03-T02": epic 03, task 2
    title: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class TrackerEpic:
    number: int
    name: str
    path: str
    goal: str
    tasks: tuple[TrackerTask, ...]
    acceptance: tuple[str, ...]
    depends_on: tuple[str, ...]  # epic names

    @property
    def title(self) -> str:
        return f"Epic {self.number:02d}: {self.name}"

    @property
    def requirements(self) -> tuple[str, ...]:
        texts = [task.title for task in self.tasks] + list(self.acceptance)
        return tuple(cited_ids(" ".join(texts)))


@dataclass(frozen=True)
class EpicSource:
    path: str
    content_md: str


def epics_of(documents: Sequence[EpicSource]) -> list[TrackerEpic]:
    """The epics of the plan's epic files, in their file order (delivery order)."""
    return [_epic(doc.path, parse(doc.content_md)) for doc in sorted(documents, key=_path)]


def _path(document: EpicSource) -> str:
    return document.path


def _epic(path: str, parsed: ParsedDocument) -> TrackerEpic:
    heading = next((h.text for h in parsed.headings if h.level == 1), path)
    match = _EPIC_TITLE.match(heading)
    number = int(match[1]) if match else 0
    name = match[2].strip() if match else heading
    tasks = tuple(
        TrackerTask(key=f"E{number:02d}-T{index:02d}", title=text,
                    requirements=tuple(cited_ids(text)))
        for index, text in enumerate(_items(parsed, "tasks"), 1)
    )  # fmt: skip
    return TrackerEpic(
        number=number,
        name=name,
        path=path,
        goal=" ".join(_paragraphs(parsed, "goal")[:1]),
        tasks=tasks,
        acceptance=tuple(_items(parsed, "acceptance criteria")),
        depends_on=tuple(_items(parsed, "dependencies")),
    )


def _section_blocks(parsed: ParsedDocument, title: str) -> list[Any]:
    section = next((s for s in parsed.sections if normalise(s.title) == title), None)
    return list(section.blocks) if section is not None else []


def _items(parsed: ParsedDocument, title: str) -> list[str]:
    return [b.text.strip() for b in _section_blocks(parsed, title) if b.kind == "item"]


def _paragraphs(parsed: ParsedDocument, title: str) -> list[str]:
    return [b.text.strip() for b in _section_blocks(parsed, title) if b.kind == "paragraph"]


def _body(epic: TrackerEpic, task: TrackerTask, blocked_by: Sequence[TrackerEpic]) -> str:
    lines = [
        f"Part of **{epic.title}** (`docs/{epic.path.removeprefix('docs/')}`): {epic.goal}",
        "",
        f"Requirements: {', '.join(task.requirements) or 'none cited by this task'}",
    ]
    if blocked_by:
        lines.append("Blocked by: the tasks of " + ", ".join(e.title for e in blocked_by))
    lines += ["", "Acceptance criteria of the epic:", ""]
    lines += [f"- [ ] {criterion}" for criterion in epic.acceptance] or ["- None listed."]
    return "\n".join(lines)


def _dependencies(epic: TrackerEpic, epics: Sequence[TrackerEpic]) -> list[TrackerEpic]:
    wanted = {normalise(name) for name in epic.depends_on}
    return [other for other in epics if normalise(other.name) in wanted and other is not epic]


def _label(text: str) -> str:
    return text[:LABEL_LIMIT]


def _epic_label(epic: TrackerEpic) -> str:
    return _label(f"epic {epic.number:02d}: {epic.name}")


# --- GitHub ------------------------------------------------------------------------------------


def github_issues(project_name: str, epics: Sequence[TrackerEpic]) -> dict[str, Any]:
    """Milestones and issues as GitHub's REST API takes them (``POST .../milestones``,
    ``POST .../issues``); what only docflow knows (the task's key, its milestone by title,
    the tasks blocking it) sits under each issue's ``docflow`` key, for the script."""
    milestones = [{"title": epic.title, "description": epic.goal} for epic in epics]
    issues = []
    for epic in epics:
        blocking = _dependencies(epic, epics)
        blocked_by = [task.key for other in blocking for task in other.tasks]
        for task in epic.tasks:
            issues.append(
                {
                    "title": task.title[:TITLE_LIMIT],
                    "body": _body(epic, task, blocking),
                    "labels": ["docflow", _epic_label(epic), *task.requirements],
                    "docflow": {"key": task.key, "milestone": epic.title, "blocked_by": blocked_by},
                }
            )
    return {
        "format": GITHUB_FORMAT,
        "project": project_name,
        "milestones": milestones,
        "issues": issues,
    }


def github_script() -> str:
    """The script that creates the issues with ``gh api`` (shipped in the ZIP)."""
    return resources.files("docflow").joinpath("tracker_github.py").read_text()


# --- Jira and Linear ---------------------------------------------------------------------------


JIRA_COLUMNS = ("Issue ID", "Summary", "Issue Type", "Description", "Parent", "Labels")
LINEAR_COLUMNS = ("Title", "Description", "Status", "Priority", "Labels", "Project",
                  "Project Milestone")  # fmt: skip


def _csv(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def _epic_description(epic: TrackerEpic, epics: Sequence[TrackerEpic]) -> str:
    blocking = _dependencies(epic, epics)
    lines = [epic.goal, "", f"Requirements: {', '.join(epic.requirements) or 'none cited'}"]
    if blocking:
        lines.append("Depends on: " + ", ".join(e.title for e in blocking))
    lines += ["", "Acceptance criteria:", *[f"- {c}" for c in epic.acceptance]]
    return "\n".join(lines)


def jira_csv(epics: Sequence[TrackerEpic]) -> str:
    """Jira's CSV importer: one Epic per epic, its tasks as Tasks with the epic as Parent
    (``Issue ID`` and ``Parent`` link them inside the file)."""
    rows: list[list[str]] = []
    for epic in epics:
        epic_id = f"E{epic.number:02d}"
        rows.append([epic_id, epic.title, "Epic", _epic_description(epic, epics), "", "docflow"])
        rows += [
            [task.key, task.title, "Task", _body(epic, task, _dependencies(epic, epics)),
             epic_id, "docflow"]
            for task in epic.tasks
        ]  # fmt: skip
    return _csv(JIRA_COLUMNS, rows)


def linear_csv(project_name: str, epics: Sequence[TrackerEpic]) -> str:
    """Linear's CSV import, in the columns of Linear's own CSV export: the project, each
    epic a project milestone, one issue per task."""
    rows = [
        [task.title, _body(epic, task, _dependencies(epic, epics)), "Backlog", "No priority",
         ", ".join(["docflow", *task.requirements]), project_name, epic.title]
        for epic in epics
        for task in epic.tasks
    ]  # fmt: skip
    return _csv(LINEAR_COLUMNS, rows)


def tracker_files(project_name: str, epics: Sequence[TrackerEpic]) -> dict[str, str]:
    """Every tracker file of the package, by its path inside the ZIP."""
    issues = json.dumps(github_issues(project_name, epics), indent=2, ensure_ascii=False)
    return {
        f"{TRACKER_DIR}/{GITHUB_FILE}": issues + "\n",
        f"{TRACKER_DIR}/{GITHUB_SCRIPT}": github_script(),
        f"{TRACKER_DIR}/{JIRA_FILE}": jira_csv(epics),
        f"{TRACKER_DIR}/{LINEAR_FILE}": linear_csv(project_name, epics),
    }

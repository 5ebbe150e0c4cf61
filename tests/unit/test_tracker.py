"""The plan as tracker imports (``docflow.tracker``): the CSVs parse and round-trip every
task, the GitHub JSON holds what the REST API requires, and the shipped script creates
milestones, issues and dependencies through a stand-in `gh` that records its calls."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from docflow.contracts import RenderedDocument
from docflow.samples import SAMPLE_CONSTRAINTS, sample_idea
from docflow.tracker import (
    JIRA_COLUMNS,
    LINEAR_COLUMNS,
    EpicSource,
    TrackerEpic,
    epics_of,
    github_issues,
    github_script,
    jira_csv,
    linear_csv,
)
from tests.offline import offline_package

# The body of "Create an issue" and "Create a milestone" (docs.github.com/rest/issues):
# the fields docflow sends, with the types and limits GitHub documents.
CREATE_ISSUE = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 256},
        "body": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50}},
        "milestone": {"type": ["string", "integer", "null"]},
    },
    "additionalProperties": False,
}
CREATE_MILESTONE = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string", "minLength": 1}, "description": {"type": "string"}},
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> list[RenderedDocument]:
    written = offline_package(sample_idea(), SAMPLE_CONSTRAINTS, tmp_path_factory.mktemp("data"))
    return [d for d in written if d.kind == "epic"]


@pytest.fixture(scope="module")
def epics(plan: list[RenderedDocument]) -> list[TrackerEpic]:
    return epics_of([EpicSource(d.path, d.content_md) for d in plan])


def every_task(plan: list[RenderedDocument]) -> list[tuple[str, str]]:
    """(epic title, task) for each checklist item of each epic file, read line by line."""
    tasks = []
    for document in sorted(plan, key=lambda d: d.path):
        title = document.content_md.splitlines()[0].removeprefix("# ")
        tasks += [(title, line.removeprefix("- [ ] ")) for line in document.content_md.splitlines()
                  if line.startswith("- [ ] ")]  # fmt: skip
    return tasks


def test_epics_are_read_in_delivery_order_with_their_parts(epics: list[TrackerEpic]) -> None:
    assert epics[0].name == "Infrastructure" and epics[-1].name == "Testing"
    assert [e.number for e in epics] == list(range(1, len(epics) + 1))
    assert all(e.tasks and e.acceptance and e.goal for e in epics)
    assert epics[-1].depends_on and not epics[0].depends_on
    assert all(e.requirements for e in epics), "every epic cites a requirement"


def test_jira_csv_parses_and_round_trips_every_task(
    plan: list[RenderedDocument], epics: list[TrackerEpic]
) -> None:
    rows = list(csv.DictReader(io.StringIO(jira_csv(epics))))

    assert tuple(rows[0]) == JIRA_COLUMNS
    epic_rows = {row["Issue ID"]: row for row in rows if row["Issue Type"] == "Epic"}
    tasks = [(epic_rows[row["Parent"]]["Summary"], row["Summary"])
             for row in rows if row["Issue Type"] == "Task"]  # fmt: skip
    assert tasks == every_task(plan)
    assert len(epic_rows) == len(epics)
    assert all("Acceptance criteria" in row["Description"] for row in rows)


def test_linear_csv_parses_and_round_trips_every_task(
    plan: list[RenderedDocument], epics: list[TrackerEpic]
) -> None:
    rows = list(csv.DictReader(io.StringIO(linear_csv("Community Garden", epics))))

    assert tuple(rows[0]) == LINEAR_COLUMNS
    assert [(row["Project Milestone"], row["Title"]) for row in rows] == every_task(plan)
    assert {row["Project"] for row in rows} == {"Community Garden"}
    cited = [row for row in rows if "FR-" in row["Labels"] or "NFR-" in row["Labels"]]
    assert cited, "requirement ids travel as labels"


def test_github_issues_hold_what_the_rest_api_requires(
    plan: list[RenderedDocument], epics: list[TrackerEpic]
) -> None:
    document = json.loads(json.dumps(github_issues("Community Garden", epics)))

    for milestone in document["milestones"]:
        jsonschema.validate(milestone, CREATE_MILESTONE)
    for issue in document["issues"]:
        request = {key: value for key, value in issue.items() if key != "docflow"}
        jsonschema.validate(request, CREATE_ISSUE)
    titles = [(i["docflow"]["milestone"], i["title"]) for i in document["issues"]]
    assert titles == every_task(plan)
    milestones = {m["title"] for m in document["milestones"]}
    assert {i["docflow"]["milestone"] for i in document["issues"]} <= milestones
    keys = [i["docflow"]["key"] for i in document["issues"]]
    assert len(set(keys)) == len(keys)
    for issue in document["issues"]:  # blocked only by tasks created before it
        earlier = keys[: keys.index(issue["docflow"]["key"])]
        assert set(issue["docflow"]["blocked_by"]) <= set(earlier)
    testing = [i for i in document["issues"] if i["docflow"]["milestone"].endswith("Testing")]
    assert testing[0]["docflow"]["blocked_by"] and "Blocked by" in testing[0]["body"]
    assert "Acceptance criteria of the epic" in testing[0]["body"]


FAKE_GH = """#!{python}
import json, os, sys
log = os.environ["GH_LOG"]
args = sys.argv[1:]
payload = sys.stdin.read() if "--input" in args else ""
call = {{"args": args, "input": json.loads(payload) if payload else None}}
with open(log, "a") as out:
    out.write(json.dumps(call) + "\\n")
path = args[args.index("--method") + 2]
count = sum(1 for _ in open(log))
if path.endswith("/milestones?state=all&per_page=100"):
    print(json.dumps([{{"title": "Epic 01: Infrastructure", "number": 7}}]))
elif path.endswith("/milestones"):
    print(json.dumps({{"number": 100 + count}}))
elif path.endswith("/issues"):
    print(json.dumps({{"number": count, "id": 9000 + count}}))
else:
    print("{{}}")
"""


def test_the_script_creates_milestones_issues_and_dependencies_with_gh(
    epics: list[TrackerEpic], tmp_path: Path
) -> None:
    folder = tmp_path / "tracker"
    folder.mkdir()
    (folder / "github-issues.json").write_text(json.dumps(github_issues("Garden", epics)))
    (folder / "create_github_issues.py").write_text(github_script())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    log = tmp_path / "gh.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GH_LOG": str(log)}

    done = subprocess.run(
        [sys.executable, str(folder / "create_github_issues.py"), "acme/garden"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    calls: list[dict[str, Any]] = [json.loads(line) for line in log.read_text().splitlines()]
    paths = [call["args"][3] for call in calls]
    created = [c["input"] for c in calls if c["args"][3] == "repos/acme/garden/issues"]
    tasks = sum(len(e.tasks) for e in epics)
    assert len(created) == tasks
    assert paths.count("repos/acme/garden/milestones") == len(epics) - 1  # Epic 01 existed
    assert created[0]["milestone"] == 7 and "docflow" not in created[0]
    blocked = [c for c in calls if c["args"][3].endswith("/dependencies/blocked_by")]
    expected = sum(len(i["docflow"]["blocked_by"]) for i in github_issues("G", epics)["issues"])
    assert len(blocked) == expected > 0
    assert all(call["input"]["issue_id"] > 9000 for call in blocked)
    assert f"{tasks} issues in {len(epics)} milestones" in done.stdout


def test_the_script_calls_nothing_on_a_dry_run(epics: list[TrackerEpic], tmp_path: Path) -> None:
    plan_file = tmp_path / "github-issues.json"
    plan_file.write_text(json.dumps(github_issues("Garden", epics)))
    script = tmp_path / "create.py"
    script.write_text(github_script())
    env = {**os.environ, "PATH": str(tmp_path)}  # no gh anywhere

    done = subprocess.run(
        [sys.executable, str(script), "acme/garden", "--dry-run", "--file", str(plan_file)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "issue E01-T01" in done.stdout

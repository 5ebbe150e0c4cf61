#!/usr/bin/env python3
# ruff: noqa: T201 -- a command-line script: it reports on stdout
"""Create the plan's GitHub milestones and issues from github-issues.json with `gh api`.

    python3 create_github_issues.py OWNER/REPO [--dry-run]

Needs the GitHub CLI (`gh`), signed in with the right to write issues. Milestones are
created first (one per epic; an existing milestone of the same title is reused), then one
issue per task in delivery order, then each issue's "blocked by" dependencies through
GitHub's issue-dependencies API. Run it once per repository: a second run creates the
issues again. --dry-run prints what would be created and calls nothing.

docflow ships this file in every package's tracker/ folder; it uses only Python's
standard library and `gh`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def gh(path: str, fields: dict[str, Any] | None = None, method: str = "POST") -> Any:
    """One `gh api` call: JSON in on stdin, JSON out."""
    command = ["gh", "api", "--method", method, path]
    payload = None
    if fields is not None:
        command += ["--input", "-"]
        payload = json.dumps(fields)
    done = subprocess.run(command, input=payload, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gh api {method} {path} failed: {done.stderr.strip()}")
    return json.loads(done.stdout or "null")


def milestone_numbers(repo: str, milestones: list[dict[str, str]], dry_run: bool) -> dict[str, int]:
    """The number of each epic's milestone, created when the repository has none of its title."""
    numbers: dict[str, int] = {}
    if not dry_run:
        existing = gh(f"repos/{repo}/milestones?state=all&per_page=100", method="GET")
        numbers = {item["title"]: item["number"] for item in existing or []}
    for milestone in milestones:
        if milestone["title"] not in numbers:
            print(f"milestone: {milestone['title']}")
            made = {"number": 0} if dry_run else gh(f"repos/{repo}/milestones", milestone)
            numbers[milestone["title"]] = made["number"]
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", help="OWNER/REPO")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--file", type=Path, default=HERE / "github-issues.json")
    args = parser.parse_args(argv)
    plan = json.loads(args.file.read_text(encoding="utf-8"))
    numbers = milestone_numbers(args.repo, plan["milestones"], args.dry_run)
    created: dict[str, dict[str, Any]] = {}
    for issue in plan["issues"]:
        extra = issue["docflow"]
        request = {key: value for key, value in issue.items() if key != "docflow"}
        request["milestone"] = numbers[extra["milestone"]]
        print(f"issue {extra['key']}: {request['title']}")
        if args.dry_run:
            created[extra["key"]] = {"number": 0, "id": 0}
            continue
        created[extra["key"]] = gh(f"repos/{args.repo}/issues", request)
    for issue in plan["issues"]:
        extra = issue["docflow"]
        number = created[extra["key"]]["number"]
        for blocker in extra["blocked_by"]:
            print(f"  {extra['key']} is blocked by {blocker}")
            if not args.dry_run:
                gh(f"repos/{args.repo}/issues/{number}/dependencies/blocked_by",
                   {"issue_id": created[blocker]["id"]})  # fmt: skip
    print(f"{len(plan['issues'])} issues in {len(numbers)} milestones")
    return 0


if __name__ == "__main__":
    sys.exit(main())

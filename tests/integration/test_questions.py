"""Clarifying questions answered at the first gate: kept with the project, versioned, shown
in the next description and given to the agents of the later steps."""

from __future__ import annotations

from typing import Any

import httpx

from docflow.contracts import ANSWERS_REVISION
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.api_helpers import Auth, create_project, decide, wait_for_gate
from tests.conftest import bearer

DEADLINE_ANSWER = "The first release must launch within 8 weeks."


async def _document(http: httpx.AsyncClient, base: str, auth: Auth, path: str) -> str:
    documents = (await http.get(f"{base}/documents", headers=auth)).json()
    document = next(d for d in documents if d["path"] == path)
    url = f"{base}/documents/{document['id']}/versions/{document['latest_version']}"
    return str((await http.get(url, headers=auth)).json()["content_md"])


def _by_question(questions: Any, words: str) -> Any:
    return next(q for q in questions["questions"] if words in q["question"])


async def test_answers_write_the_next_version_and_reach_later_steps(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await create_project(http, auth)
    await http.post(f"{base}/runs", json={}, headers=auth)
    await wait_for_gate(http, base, auth, "description")

    listed = (await http.get(f"{base}/questions", headers=auth)).json()
    assert listed["about_version"] == 1 and len(listed["questions"]) >= 3
    assert all(q["id"].startswith("Q-") and q["why"] and q["answer"] is None
               for q in listed["questions"])  # fmt: skip
    deadline = _by_question(listed, "By when")
    owner = _by_question(listed, "Who owns the product")
    assert deadline["suggested_answers"]

    first = await http.put(
        f"{base}/questions", headers=auth,
        json={"answers": [{"question_id": deadline["id"], "answer": "In three months."},
                          {"question_id": owner["id"], "answer": "The harbour office."}]},
    )  # fmt: skip
    assert first.status_code == 200, first.text
    changed = await http.put(
        f"{base}/questions", headers=auth,
        json={"answers": [{"question_id": deadline["id"], "answer": DEADLINE_ANSWER}]},
    )  # fmt: skip
    answered = _by_question(changed.json(), "By when")
    assert answered["answer"]["answer"] == DEADLINE_ANSWER and answered["answer"]["version"] == 2
    assert [h["answer"] for h in answered["history"]] == ["In three months.", DEADLINE_ANSWER]
    assert answered["answer"]["answered_by"] and answered["answer"]["answered_at"]

    state = await decide(http, base, auth, step="description", action="revise",
                         feedback=ANSWERS_REVISION)  # fmt: skip
    assert state["gate"]["versions"][0]["version"] == 2
    about = await _document(http, base, auth, "docs/about.md")
    decisions = about.split("## Decisions from clarification", 1)[1].split("## Open questions")[0]
    assert f"| {deadline['id']} |" in decisions and DEADLINE_ANSWER in decisions
    assert "The harbour office." in decisions
    still_open = about.split("## Open questions", 1)[1].split("\n## ", 1)[0]
    assert deadline["id"] not in still_open and owner["id"] not in still_open
    assert "By when" not in still_open  # the answer settled it
    assert "within 8 weeks" in about  # the answer changed what the writer wrote
    again = (await http.get(f"{base}/questions", headers=auth)).json()
    assert {deadline["id"], owner["id"]} <= {q["id"] for q in again["questions"] if q["answer"]}

    await decide(http, base, auth, step="description", action="approve")
    await wait_for_gate(http, base, auth, "architecture")
    adr = await _document(http, base, auth, "docs/adr/ADR-001-build-a-modular-monolith.md")
    assert "first release due within 8 weeks" in adr  # the architect worked from the answer


async def test_answers_are_checked(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    editor = bearer(api_settings, tenant.id, "editor")
    viewer = bearer(api_settings, tenant.id, "viewer")
    base = await create_project(http, editor)
    await http.post(f"{base}/runs", json={}, headers=editor)
    await wait_for_gate(http, base, editor, "description")
    first = (await http.get(f"{base}/questions", headers=viewer)).json()["questions"][0]["id"]

    cases = [
        ({"answers": [{"question_id": "Q-999", "answer": "x"}]}, 422, "not one of the project"),
        ({"answers": [{"question_id": first, "answer": "a\u0000b"}]}, 422, ""),
        ({"answers": [{"question_id": first, "answer": "x" * 2001}]}, 422, ""),
        ({"answers": [{"question_id": "question one", "answer": "x"}]}, 422, ""),
        ({"answers": []}, 422, ""),
    ]
    for body, code, words in cases:
        answer = await http.put(f"{base}/questions", json=body, headers=editor)
        assert answer.status_code == code, (body, answer.text)
        assert words in answer.text and "Traceback" not in answer.text
    refused = await http.put(f"{base}/questions", headers=viewer,
                             json={"answers": [{"question_id": first, "answer": "x"}]})  # fmt: skip
    assert refused.status_code == 403
    withdrawn = await http.put(
        f"{base}/questions", headers=editor,
        json={"answers": [{"question_id": first, "answer": "Yes."}]},
    )  # fmt: skip
    assert next(q for q in withdrawn.json()["questions"] if q["id"] == first)["answer"]
    cleared = await http.put(f"{base}/questions", headers=editor,
                             json={"answers": [{"question_id": first, "answer": ""}]})  # fmt: skip
    entry = next(q for q in cleared.json()["questions"] if q["id"] == first)
    assert entry["answer"] is None and len(entry["history"]) == 2

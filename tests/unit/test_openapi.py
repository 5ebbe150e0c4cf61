"""OpenAPI first: the committed openapi.json is the contract the code must match."""

from __future__ import annotations

import json

from api.openapi import COMMITTED, openapi_document, render


def test_code_matches_the_committed_openapi_json() -> None:
    committed = COMMITTED.read_text()
    generated = render(openapi_document())
    assert generated == committed, (
        "the API's schema changed: if intended, run `.venv/bin/python -m api.openapi` "
        "and commit openapi.json with the change"
    )


def test_every_operation_is_documented() -> None:
    document = json.loads(COMMITTED.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("responses"), f"{method.upper()} {path} has no responses"

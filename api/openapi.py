"""The API's OpenAPI document, committed as ``openapi.json`` (OpenAPI first).

    .venv/bin/python -m api.openapi          # rewrite openapi.json after an intended change

tests/unit/test_openapi.py fails when the code's schema differs from the committed file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from api.app import create_app
from docflow.settings import Settings

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"


def openapi_document() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(Settings()).openapi()
    return schema


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    COMMITTED.write_text(render(openapi_document()))
    sys.stderr.write(f"wrote {COMMITTED}\n")

"""Base models of the HTTP contract: requests reject unknown fields and unstorable text."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, field_validator

from docflow.text import text_problem

MAX_INT = 2**31 - 1  # PostgreSQL's integer: every number in a path or query stays below it
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="A version number, from 1")]


def refuse_unstorable(value: Any) -> Any:
    """``value`` unchanged, or ``ValueError`` when a string in it holds a character that
    PostgreSQL cannot store or a reader cannot see (``docflow.text``)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, list | tuple | set):
        for item in value:
            refuse_unstorable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_unstorable(key)
            refuse_unstorable(item)
    return value


class RequestModel(BaseModel):
    """Every request body: unknown fields are a 422, not silently ignored; so is a text
    field with NUL, another control character or an unpaired surrogate."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable(value)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

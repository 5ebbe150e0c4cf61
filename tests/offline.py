"""A whole package written by the offline writer, step after step, without a server."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from docflow.agents.compose import write_step
from docflow.contracts import RenderedDocument, Step, StepBrief
from docflow.settings import Settings

TODAY = date(2026, 1, 15)


def write(
    step: Step,
    idea: str,
    constraints: str,
    upstream: list[RenderedDocument],
    data_dir: Path,
    **brief: object,
) -> list[RenderedDocument]:
    """One step's documents; ``brief`` adds StepBrief fields (feedback, known_requirements)."""
    settings = Settings(data_dir=data_dir, llm_provider="offline")
    step_brief = StepBrief.model_validate(
        {"step": step, "project_name": "Tidepool", "idea": idea, "constraints": constraints,
         "upstream": upstream, **brief}
    )  # fmt: skip
    return asyncio.run(write_step(step_brief, settings, TODAY)).documents


def offline_package(idea: str, constraints: str, data_dir: Path) -> list[RenderedDocument]:
    """Every step's documents, each step written from the ones before it."""
    written: list[RenderedDocument] = []
    for step in Step:
        written += write(step, idea, constraints, list(written), data_dir)
    return written

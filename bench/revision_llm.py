"""Benchmark: a real local model revises about.md on feedback that asks for a section.

    .venv/bin/python -m bench.revision_llm --model smollm2-135m [--repeats 3]

Starts llama.cpp's server as ``bench.real_llm`` does (the model from PyPI wheels, no
model hub), then writes the description step of a sample idea with the feedback "Add a
section about accessibility for wheelchair users", through the CrewAI writer and the
revision section of ``sections.yaml`` (which also fills ``requested_sections``). Prints per
run: wall time, sections, tokens, whether the model filled a requested section, its
heading and the start of its first paragraph; beside it, the offline writer on the same
brief. No Temporal, database or Redis: ``docflow.agents.compose.write_step`` alone.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.offline_packages import sample_ideas
from bench.real_llm import MODELS, fetch_model, start_server, wait_ready
from docflow.agents.compose import MemoryStore, write_step
from docflow.agents.errors import WriterError
from docflow.contracts import Step, StepBrief, StepWriting
from docflow.settings import Settings

FEEDBACK = "Add a section about accessibility for wheelchair users"
TODAY = date(2026, 12, 2)
ATTEMPTS = 4  # Temporal retries write_step without limit; a bench stops after a few
STANDARD_HEADINGS = {
    "Problem and context", "Target users", "Goals", "Non-goals", "Key features",
    "Non-functional requirements", "Constraints", "Assumptions", "Decisions from clarification",
    "Open questions", "Success metrics", "Revision notes",
}  # fmt: skip


def _section_of(writing: StepWriting) -> str:
    """The section the feedback asked for, under whatever heading the writer gave it."""
    text = writing.documents[0].content_md
    sections = text.split("\n## ")[1:]
    extra = [s for s in sections if s.splitlines()[0] not in STANDARD_HEADINGS]
    if not extra:
        return "no requested section"
    heading, _, body = extra[0].partition("\n")
    return f"section {heading!r}: {body.strip()[:100]!r}"


def _write(brief: StepBrief, settings: Settings) -> tuple[StepWriting, int]:
    """The step, retried as Temporal retries write_step: finished sections are kept."""
    store = MemoryStore()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return asyncio.run(write_step(brief, settings, TODAY, store)), attempt
        except WriterError as error:
            if not error.retryable or attempt == ATTEMPTS:
                raise
            sys.stdout.write(f"  attempt {attempt} failed, retrying: {error}\n")
    raise AssertionError("unreachable")


def _run(settings: Settings, brief: StepBrief, label: str, repeats: int) -> None:
    times = []
    for run in range(repeats):
        started = time.perf_counter()
        writing, attempts = _write(brief, settings)
        times.append(time.perf_counter() - started)
        sys.stdout.write(
            f"{label} run {run + 1}: {times[-1]:.1f} s, {attempts} attempt(s), "
            f"{writing.sections} sections, tokens {writing.tokens_in} in / {writing.tokens_out} "
            f"out; {_section_of(writing)}\n"
        )
    sys.stdout.write(f"{label}: min {min(times):.1f} s, median {statistics.median(times):.1f} s\n")


def main(args: argparse.Namespace) -> None:
    idea, constraints = sample_ideas()["tidepool"]
    brief = StepBrief(
        step=Step.DESCRIPTION,
        project_name="Tidepool",
        idea=idea,
        constraints=constraints,
        feedback=[FEEDBACK],
    )
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-revision-"))
    offline = Settings(data_dir=data_dir, llm_provider="offline")
    _run(offline, brief, "offline writer", args.repeats)
    cache = Path(args.cache).resolve()
    gguf = fetch_model(args.model, MODELS[args.model], cache)
    server = start_server(gguf, args.port, args.context, cache / f"{gguf.stem}-server.log")
    try:
        sys.stdout.write(
            f"model {gguf.name}, server ready in {wait_ready(args.port, server):.1f} s\n"
        )
        model = offline.model_copy(
            update={
                "llm_provider": "openai",
                "llm_base_url": f"http://127.0.0.1:{args.port}/v1",
                "llm_model": gguf.stem,
                "llm_concurrency": 1,
            }
        )
        _run(model, brief, gguf.stem, args.repeats)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=sorted(MODELS), default="smollm2-135m")
    parser.add_argument("--cache", default=".docflow/bench-models")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args())

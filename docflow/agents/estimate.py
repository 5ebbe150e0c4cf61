"""What a run will cost before it starts: calls and tokens, from the idea and the budgets.

An estimate, not a quote: calls count each section once (fanned-out sections with their
``typical`` number of items), tokens out are the sections' ``max_tokens`` budgets (an
upper bound per call), tokens in are each call's context at four characters a token: the
idea and constraints, the upstream documents the role reads (at most
``llm_upstream_chars`` each, which a real package reaches) and the section's own request.
Automatic quality revisions and retries come on top. Imports no CrewAI.
"""

from __future__ import annotations

from pydantic import BaseModel

from docflow.agents.prompts import role_of
from docflow.agents.sections import sections_of
from docflow.contracts import STEPS, Step

CHARACTERS_PER_TOKEN = 4
REQUEST_TOKENS = 450  # a section's ask, earlier answers, the role and framing (measured ~300-600)


class StepEstimate(BaseModel):
    step: Step
    calls: int
    tokens_in: int
    tokens_out_max: int


class RunEstimate(BaseModel):
    steps: list[StepEstimate]
    calls: int
    tokens_in: int
    tokens_out_max: int


def estimate_run(idea: str, constraints: str, upstream_chars: int) -> RunEstimate:
    context = (len(idea) + len(constraints)) // CHARACTERS_PER_TOKEN
    steps = []
    for step in STEPS:
        specs = [spec for spec in sections_of(step) if spec.when is None]
        calls = sum(spec.typical if spec.each else 1 for spec in specs)
        upstream = len(role_of(step).reads) * upstream_chars // CHARACTERS_PER_TOKEN
        out = sum(spec.max_tokens * (spec.typical if spec.each else 1) for spec in specs)
        steps.append(StepEstimate(step=step, calls=calls,
                                  tokens_in=calls * (context + upstream + REQUEST_TOKENS),
                                  tokens_out_max=out))  # fmt: skip
    return RunEstimate(
        steps=steps,
        calls=sum(s.calls for s in steps),
        tokens_in=sum(s.tokens_in for s in steps),
        tokens_out_max=sum(s.tokens_out_max for s in steps),
    )

"""The four agents that write a documentation package.

- ``contracts``: what each agent returns (Pydantic, mirrors PACKAGE.md);
- ``render`` (with ``markdown`` and ``mermaid``): contract -> Markdown documents, pure;
- ``crew``: ``write_step``, which runs a step's agent with CrewAI;
- ``offline``: the deterministic offline writer, a CrewAI LLM that drafts through
  ``drafting``: ``analysis`` reads the brief into a profile (with ``text``), ``catalog``
  and ``stack`` say what each capability and technology implies, ``design`` keeps the
  documents consistent, and ``draft_about`` / ``draft_architecture`` (with
  ``draft_decisions``) / ``draft_plan`` / ``draft_standards`` fill the contracts.

Only ``offline``, ``openai_llm`` and ``crew`` import CrewAI (2.4 s, 1 GB); the API process must not
import them. CrewAI builds its telemetry client when it is first imported, so the
defaults that keep it quiet are set here, before any module of this package can
import it. Nothing else happens at import.
"""

from __future__ import annotations

import os

CREWAI_ENV_DEFAULTS: dict[str, str] = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
}

for _name, _value in CREWAI_ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

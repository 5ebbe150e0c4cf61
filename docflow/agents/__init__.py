"""The four agents that write a documentation package.

- ``contracts``: what each agent returns (Pydantic, mirrors PACKAGE.md);
- ``sections`` (``sections.yaml``): the small sections each step is written in;
- ``compose``: ``StepComposer`` writes a step section by section through a ``writer.Writer``,
  saving each section so a retry resumes; ``estimate``: a run's cost before it starts;
- ``render`` (with ``markdown`` and ``mermaid``): contract -> Markdown documents, pure;
- ``writers``: ``select_writer``, the one switch between the writers;
- ``offline``: the deterministic offline writer, drafting through ``drafting``:
  ``analysis`` reads the brief into a profile (with ``text``), ``catalog`` and ``stack``
  say what each capability and technology implies, ``design`` keeps the documents
  consistent, and ``draft_about`` / ``draft_architecture`` (with ``draft_decisions``) /
  ``draft_plan`` / ``draft_standards`` fill the contracts;
- ``crew``: the CrewAI adapter, on ``openai_chat`` (any OpenAI-compatible endpoint) with
  ``prompts`` (``roles.yaml``), ``breaker`` and ``errors``.

Only ``crew`` imports CrewAI (2.4 s, 1 GB), and only when a model writes; the API process
must not import it. CrewAI builds its telemetry client when it is first imported, so the
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

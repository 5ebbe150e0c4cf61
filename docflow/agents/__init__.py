"""The four agents that write a documentation package.

- ``contracts``: what each agent returns (Pydantic, mirrors PACKAGE.md);
- ``sections`` (``sections.yaml``): the small sections each step is written in;
- ``compose``: ``StepComposer`` writes a step section by section through a ``writer.Writer``,
  saving each section so a retry resumes; ``estimate``: a run's cost before it starts;
- ``render`` (with ``markdown`` and ``mermaid``): contract -> Markdown documents, pure;
- ``writers``: ``select_writer``, the one switch between the writers;
- ``docflow.offline`` (a package of its own) is the deterministic offline writer;
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

"""The deterministic offline writer: the default ``Writer``, no model involved (ADR-019).

- ``writer``: ``OfflineWriter`` and ``draft_contract``, a brief in, the step contract out;
- ``analysis`` reads the brief into a ``Profile`` from the idea's own words, with
  ``people`` (its user groups), ``limits`` (its constraints by kind) and ``text``;
- ``knowledge`` loads what the writer knows from ``data/`` into frozen pydantic models;
  ``templates`` fills the fixed prose of ``data/prose/``; ``design`` keeps the documents
  consistent and cites their requirements;
- ``about``, ``architecture`` (with ``decisions``), ``plan``, ``standards`` and
  ``requested`` (sections asked for in review) fill the contracts of
  ``docflow.agents.contracts``.

It imports neither CrewAI nor any network client.
"""

"""The deterministic offline writer: the default ``Writer``, no model involved.

- ``writer``: ``OfflineWriter``, answering each section with its part of the step's draft;
- ``drafting``: a brief in, the requested contract out;
- ``analysis`` (with ``text``): reads the brief into a ``Profile``, the idea's own words;
- ``knowledge`` loads what the writer knows from ``data/`` (traits, stacks, lexicon,
  standards) into typed models; ``design`` and ``citing`` keep the documents consistent;
- ``about``, ``architecture`` (with ``decisions``), ``plan``, ``standards`` fill the
  contracts of ``docflow.agents.contracts``.

It imports neither CrewAI nor any network client.
"""

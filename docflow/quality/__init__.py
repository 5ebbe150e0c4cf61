"""Document quality: checks that run on every version before a person sees it.

Public API (import from the submodules; this package imports nothing, so a workflow can
import ``contracts`` without pulling in textstat or python-markdown):

- ``score.score_documents(documents, thresholds, context=())`` -> one ``QualityReport``
  per document; ``score.score_document`` for one document on its own;
- ``report``: ``QualityReport``, ``Finding``, ``Severity``, ``CheckId``,
  ``QualityThresholds`` (``from_settings``), ``Readability``;
- ``contracts``: ``ScoreInput`` / ``ScoreOutput`` / ``VersionScore`` of the
  ``score_versions`` activity (``activities.quality.QualityActivities``);
- ``store.QualityStore``: save and load a version's report (tenant-scoped).

Inside: ``parse`` (Markdown -> blocks via python-markdown's HTML), ``validity``,
``sections`` (required sections and their synonyms per kind), ``structure``,
``readability`` (textstat, offline), ``facts`` (what the architecture names) and
``consistency`` (across documents).
"""

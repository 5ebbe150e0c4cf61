"""The offline writer's data files: they load into their models, their markers are unique,
and everything they refer to exists (docflow/offline/knowledge.py, templates.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from string import Formatter
from typing import Any

import pytest

from docflow.offline import knowledge, templates
from docflow.offline.knowledge import KnowledgeError, Lexicon, lexicon, stacks, traits
from docflow.offline.templates import PROSE_FILES, holds, load_all, prose
from docflow.startup import check_offline_writer

# Facts a draft adds for its own prose file (writer_of's extra flags), by file.
DRAFT_FACTS = {
    "about": {"hosting_assumed", "article", "capabilities", "limits", "revised"},
    "architecture": set(),
    "decisions": set(),
    "people": set(),
    "plan": {"small_team", "over"},
    "requested": {"said", "bearing"},
    "standards": set(),
}
CHANGE_FACTS = {"added", "removed", "changes", "feature", "section"}
PROFILE_FACTS = {
    "mobile", "console", "worker", "redis", "eu", "critical", "team_stated", "weeks_stated",
    "budget_stated",
}  # fmt: skip


def _text(value: Any) -> str:
    return json.dumps(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)


def _nodes(value: Any) -> Iterator[Any]:
    """Every mapping, list and string of a prose file, the file itself first."""
    yield value
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    for child in children:
        yield from _nodes(child)


def _conditions(value: Any) -> Iterator[str]:
    return (str(node["if"]) for node in _nodes(value) if isinstance(node, dict) and "if" in node)


def test_every_data_file_loads_into_its_model() -> None:
    load_all()  # what a worker runs at start
    assert len(traits()) >= 20
    assert stacks().backends and stacks().web_clients and stacks().mobile_clients
    assert "book" in lexicon().verbs
    assert all(isinstance(prose(name), dict) for name in PROSE_FILES)


def test_trait_keys_and_markers_are_unique() -> None:
    keys = [trait.key for trait in traits()]
    markers = [trait.marker for trait in traits()]
    assert len(set(keys)) == len(keys)
    assert len(set(markers)) == len(markers)


def test_a_marker_appears_in_no_other_trait_and_in_no_prose() -> None:
    """Later steps find the traits an accepted document kept by their markers, so a marker
    anywhere else (another trait, a non-goal, a fixed sentence) would switch it on."""
    for trait in traits():
        others = [o for o in traits() if o.key != trait.key]
        assert not [o.key for o in others if trait.marker in _text(o)], trait.marker
        assert trait.marker not in trait.non_goal
        for name in PROSE_FILES:
            assert trait.marker not in json.dumps(prose(name), ensure_ascii=False), (name, trait)


def test_every_condition_names_a_known_fact_or_trait() -> None:
    trait_keys = {trait.key for trait in traits()}
    for name in PROSE_FILES:
        known = trait_keys | PROFILE_FACTS | DRAFT_FACTS[name] | CHANGE_FACTS
        for condition in _conditions(dict(prose(name))):
            terms = [
                t.strip().removeprefix("not ").strip() for t in re.split(r" or | and ", condition)
            ]
            assert set(terms) <= known, (name, condition)


def test_every_referenced_trait_exists() -> None:
    trait_keys = {trait.key for trait in traits()}
    assert set(prose("about")["non_goal_order"]) <= trait_keys
    assert set(prose("architecture")["component_links"]) <= {
        t.key for t in traits() if t.component is not None
    }
    assert set(lexicon().constraint_kinds) == {
        "team", "time", "budget", "hosting", "regulation", "technology",
    }  # fmt: skip


def _strings(value: Any) -> Iterator[str]:
    return (node for node in _nodes(value) if isinstance(node, str))


def test_prose_placeholders_are_simple_names() -> None:
    """str.format fills them: an attribute or an index in a placeholder would read data."""
    for name in PROSE_FILES:
        for text in _strings(dict(prose(name))):
            fields = [field for _, field, _, _ in Formatter().parse(text) if field is not None]
            assert all(re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", field) for field in fields), (
                name,
                text,
            )


def test_conditions_combine_with_and_or_not() -> None:
    facts = {"a": True, "b": False}.__getitem__
    assert holds("a", facts) and not holds("b", facts)
    assert holds("not b", facts) and not holds("not a", facts)
    assert holds("b or a", facts) and not holds("a and b", facts)
    assert holds("a and not b", facts) and holds("b or a and not b", facts)


def test_a_data_file_that_does_not_fit_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {**knowledge.read_data("lexicon.yaml"), "verbs": 42}
    with pytest.raises(KnowledgeError, match=r"data/lexicon\.yaml does not fit Lexicon"):
        knowledge._valid(Lexicon, "lexicon.yaml", broken)
    with pytest.raises(KnowledgeError, match=r"cannot read data/nothing\.yaml"):
        knowledge.read_data("nothing.yaml")


def test_stacks_name_known_languages_only(monkeypatch: pytest.MonkeyPatch) -> None:
    data = knowledge.read_data("stacks.yaml")
    data["backends"][0]["language"] = "Cobol"
    monkeypatch.setattr(knowledge, "read_data", lambda name: data)
    knowledge.stacks.cache_clear()
    try:
        with pytest.raises(KnowledgeError, match="unknown language"):
            knowledge.stacks()
    finally:
        monkeypatch.undo()
        knowledge.stacks.cache_clear()


def test_a_broken_data_file_stops_the_worker_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise KnowledgeError("data/traits.yaml does not fit _TraitFile: 1 validation error\nmore")

    monkeypatch.setattr(templates, "load_all", broken)
    with pytest.raises(SystemExit) as stopped:
        check_offline_writer()
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "docflow: the offline writer cannot start: data/traits.yaml does not fit _TraitFile: "
        "1 validation error"
    ]

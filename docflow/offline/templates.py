"""The fixed prose of the offline drafts, in ``data/prose/<document>.yaml``, filled in.

A prose file holds parts of a contract as plain YAML. Three things make it fit a project:

- ``{name}`` in a string is replaced by that value of the draft's context (the project's
  name, its stack, its user groups); a name the context lacks is a ``KnowledgeError``;
- an item (a mapping in a list) with ``if: <condition>`` is kept only when the condition
  holds: a trait key or a fact (``Profile.flag``, or the draft's own), ``not <name>``,
  several joined by `` and `` or `` or ``; a string item is written ``{text: ..., if: ...}``;
- an item with ``cite: [areas]`` ends with the ids of about.md's requirements of those
  areas (``design.cite``), so later documents cite what they deliver.

``tests/unit/test_offline_knowledge.py`` checks every condition and placeholder of the files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from docflow.offline import knowledge
from docflow.offline.knowledge import KnowledgeError, read_data

Flags = Callable[[str], bool]
Citer = Callable[[str, Sequence[str]], str]
PROSE_FILES = ("about", "architecture", "decisions", "people", "plan", "requested", "standards")


@cache
def prose(document: str) -> Mapping[str, Any]:
    data = read_data(f"prose/{document}.yaml")
    if not isinstance(data, dict):
        raise KnowledgeError(f"data/prose/{document}.yaml is not a mapping of parts")
    return data


def load_all() -> None:
    """Read and validate every data file now: a broken one stops a worker at start."""
    knowledge.traits()
    knowledge.stacks()
    knowledge.lexicon()
    for name in PROSE_FILES:
        prose(name)


def holds(condition: str, flags: Flags) -> bool:
    """'offline', 'not multitenant', 'console or not mobile', 'a and not b': 'and' binds
    tighter than 'or'."""
    terms = [[term.strip() for term in side.split(" and ")] for side in condition.split(" or ")]
    return any(all(flags(t.removeprefix("not ")) != t.startswith("not ") for t in s) for s in terms)


def fill(value: Any, context: Mapping[str, object], flags: Flags, citer: Citer) -> Any:
    """The value with its placeholders filled and the items whose condition fails left out."""
    if isinstance(value, str):
        return _format(value, context)
    if isinstance(value, list):
        kept = [item for item in value if _kept(item, flags)]
        return [fill(item, context, flags, citer) for item in kept]
    if isinstance(value, dict):
        if "text" in value:  # a string item with a condition or citations
            text = _format(value["text"], context)
            return citer(text, value.get("cite", [])) if "cite" in value else text
        return {k: fill(v, context, flags, citer) for k, v in value.items() if k != "if"}
    return value


def part(
    document: str, name: str, context: Mapping[str, object], flags: Flags, citer: Citer
) -> Any:
    """One part of a prose file, filled."""
    try:
        return fill(prose(document)[name], context, flags, citer)
    except KeyError as error:
        raise KnowledgeError(f"data/prose/{document}.yaml has no part {name!r}") from error


def _kept(item: Any, flags: Flags) -> bool:
    return not isinstance(item, dict) or "if" not in item or holds(str(item["if"]), flags)


def _format(text: str, context: Mapping[str, object]) -> str:
    try:
        return text.format_map(context)
    except (KeyError, IndexError, ValueError) as error:
        raise KnowledgeError(f"a prose template names an unknown value: {error}") from error

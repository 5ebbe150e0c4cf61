"""Stable ids for the items of a document that a new version writes again."""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"[a-z0-9]+")


def name_key(name: str) -> str:
    """What two names must share to be the same item: their words, lower-case."""
    return " ".join(_WORD.findall(name.lower()))


def stable_ids(prefix: str, names: Sequence[str], known: Sequence[tuple[str, str]]) -> list[str]:
    """An id ``{prefix}-NNN`` for each of ``names``: the id its name had in ``known``
    ((id, name) pairs of the earlier versions), else the next number after every id of
    ``known``, so a removed item's id is never given to another one."""
    earlier = {name_key(name): id_ for id_, name in known}
    used = [int(id_.rsplit("-", 1)[1]) for id_, _ in known if id_.startswith(f"{prefix}-")]
    following = max(used, default=0) + 1
    ids: list[str] = []
    for name in names:
        kept = earlier.get(name_key(name))
        if kept is not None and kept not in ids:
            ids.append(kept)
            continue
        ids.append(f"{prefix}-{following:03d}")
        following += 1
    return ids

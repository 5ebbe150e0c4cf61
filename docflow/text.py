"""What text docflow accepts: only characters PostgreSQL can store and a reader can see.

PostgreSQL's ``text`` cannot hold U+0000, and UTF-8 cannot encode a lone surrogate
(JSON's ``"\\ud800"``): either one in a project, a member or a decision used to reach the
database and fail there (a 500, or a run whose write was retried until it failed). Other
C0 and C1 control characters are storable but invisible and hostile (terminal escapes in
the CLI, Markdown that renders differently from what was reviewed). Tab, line feed and
carriage return are text. One rule for the API's request models and the workflow's Update
validator, so a decision with such content is refused before it reaches an activity.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
PROBLEM = "must not contain NUL, control characters or unpaired surrogates"


def unstorable(text: str) -> str | None:
    """The first character docflow refuses in ``text`` as ``U+XXXX``, or None."""
    found = _UNSTORABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused, in words a person can act on, or None."""
    character = unstorable(text)
    return f"{PROBLEM} (found {character})" if character else None

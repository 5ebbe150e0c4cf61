"""The characters docflow refuses in any text it stores."""

from __future__ import annotations

import pytest

from docflow.text import text_problem, unstorable


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a\u0000b", "U+0000"),
        ("bell\u0007", "U+0007"),
        ("\u001b[31mred", "U+001B"),
        ("del\u007f", "U+007F"),
        ("next line\u0085", "U+0085"),
        ("half \ud800 a pair", "U+D800"),
    ],
)
def test_nul_controls_and_unpaired_surrogates_are_refused(text: str, found: str) -> None:
    assert unstorable(text) == found
    problem = text_problem(text)
    assert problem is not None and found in problem


@pytest.mark.parametrize(
    "text", ["tabs\tand\nnew lines\r\n", "Zoë's café, 東京, emoji 🚲", "\u00a0no-break space"]
)
def test_ordinary_text_is_accepted(text: str) -> None:
    assert unstorable(text) is None and text_problem(text) is None

"""The three-way merge that re-applies a person's edit to an agent's new version."""

from __future__ import annotations

from docflow.merge import Conflict, merge3

BASE = "# Plan\n\nIntro.\n\n## Epic A\n\nA text.\n\n## Epic B\n\nB text.\n"


def test_an_edit_the_agent_did_not_touch_is_applied_to_the_new_text() -> None:
    ours = BASE.replace("A text.", "A text, as the team said.")
    theirs = BASE.replace("B text.", "B text, rewritten by the agent.")
    merged = merge3(BASE, ours, theirs)
    assert merged.conflicts == []
    assert "A text, as the team said." in merged.text
    assert "B text, rewritten by the agent." in merged.text


def test_an_appended_section_survives_a_rewritten_last_line() -> None:
    ours = BASE + "\n## Our own words\n\nKept.\n"
    theirs = BASE.replace("B text.", "B text, new.")
    merged = merge3(BASE, ours, theirs)
    assert merged.conflicts == []
    assert merged.text.endswith("B text, new.\n\n## Our own words\n\nKept.\n")


def test_both_changing_a_line_keeps_the_persons_text_and_reports_where() -> None:
    ours = BASE.replace("A text.", "Mine.")
    theirs = BASE.replace("A text.", "Agent's.\nSecond line.")
    merged = merge3(BASE, ours, theirs)
    assert "Mine." in merged.text and "Agent's." not in merged.text
    [conflict] = merged.conflicts
    merged_lines = merged.text.splitlines()
    their_lines = theirs.splitlines()
    assert conflict == Conflict(line=6, lines=1, theirs_line=6, theirs_lines=2)
    assert merged_lines[conflict.line : conflict.line + conflict.lines] == ["Mine."]
    assert their_lines[conflict.theirs_line : conflict.theirs_line + conflict.theirs_lines] == [
        "Agent's.",
        "Second line.",
    ]


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    same = BASE.replace("Intro.", "Intro, agreed.")
    merged = merge3(BASE, same, same)
    assert merged.conflicts == [] and merged.text == same


def test_two_insertions_at_one_place_are_both_kept_the_agents_first() -> None:
    ours = BASE + "\n## Our own words\n"
    theirs = BASE + "\n## Revision notes\n"
    merged = merge3(BASE, ours, theirs)
    assert merged.conflicts == []
    assert merged.text == BASE + "\n## Revision notes\n\n## Our own words\n"


def test_a_deleted_section_the_agent_rewrote_is_a_conflict_not_a_loss() -> None:
    ours = BASE.replace("## Epic B\n\nB text.\n", "")
    theirs = BASE.replace("B text.", "B text, longer now.")
    merged = merge3(BASE, ours, theirs)
    [conflict] = merged.conflicts
    assert conflict.lines == 0  # the person's side of it: nothing
    start, size = conflict.theirs_line, conflict.theirs_lines
    assert "B text, longer now." in theirs.splitlines()[start : start + size]


def test_later_positions_account_for_lines_added_earlier() -> None:
    ours = BASE.replace("Intro.", "Intro.\nOne.\nTwo.").replace("B text.", "Mine B.")
    theirs = BASE.replace("# Plan", "# Plan\n\nPreface.").replace("B text.", "Their B.")
    merged = merge3(BASE, ours, theirs)
    [conflict] = merged.conflicts
    assert merged.text.splitlines()[conflict.line] == "Mine B."
    assert theirs.splitlines()[conflict.theirs_line] == "Their B."
    assert merged.text.startswith("# Plan\n\nPreface.\n\nIntro.\nOne.\nTwo.\n")


def test_no_edit_gives_the_new_text() -> None:
    theirs = "# Something else entirely\n"
    assert merge3(BASE, BASE, theirs).text == theirs


def test_positions_count_newlines_only_as_the_web_app_splits() -> None:
    base = "Title\u2028with a line separator\nA.\n"
    merged = merge3(base, base.replace("A.", "Mine."), base.replace("A.", "Theirs."))
    [conflict] = merged.conflicts
    assert merged.text.split("\n")[conflict.line] == "Mine."

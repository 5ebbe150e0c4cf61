"""The project name an idea gives itself (docflow demo without --name)."""

from __future__ import annotations

import pytest

from docflow.ideas import name_from_idea


@pytest.mark.parametrize(
    ("idea", "name"),
    [
        ("Tidepool: a booking system for small harbours.", "Tidepool"),
        ("# PlotPal\n\nA mobile app for community gardens.", "PlotPal"),
        ("Harbour Desk - berths, tides and arrivals in one place.", "Harbour Desk"),
        ("\u201cFieldNotes\u201d \u2014 notes for rangers offline.", "FieldNotes"),
        ("An app called Trailhead that maps hiking routes.", "Trailhead"),
        ("A booking app for small harbours: berths, tides, arrivals.", None),
        ("a lower-case start: no name here", None),
        ("", None),
    ],
)
def test_the_name_comes_from_the_idea(idea: str, name: str | None) -> None:
    assert name_from_idea(idea) == name

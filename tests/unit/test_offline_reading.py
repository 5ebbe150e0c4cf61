"""How the offline writer reads an idea's people, limits and prose templates
(docflow/offline/people.py, limits.py, templates.py)."""

from __future__ import annotations

import pytest

from docflow.offline.knowledge import KnowledgeError
from docflow.offline.limits import budget, constraints, is_constraint, team_size, weeks
from docflow.offline.people import said, user_groups
from docflow.offline.templates import fill


def _names(sentences: list[str], audience: str = "", stated: tuple[str, ...] = ()) -> list[str]:
    groups = user_groups(sentences, audience.split(), "Tidepool", stated)
    return [group.name for group in groups]


def test_role_words_become_groups_in_order_with_their_qualifier() -> None:
    sentences = [
        "Volunteer guides publish low-tide walks on the rocky shore; schools and families "
        "book places.",
        "Teachers book a whole class at once.",
        "The coordinator cancels a walk when the weather turns.",
    ]
    assert _names(sentences) == ["Volunteer guides", "Families", "Teachers", "Coordinators"]


def test_the_group_that_runs_it_is_kept_when_there_are_many() -> None:
    sentences = [
        "For retired gardeners: members, volunteers, parents and students share tools.",
        "The coordinator allocates plots.",
    ]
    names = _names(sentences, "retired gardeners")
    assert len(names) == 4 and names[0] == "Retired gardeners" and names[-1] == "Coordinators"


def test_a_group_is_described_by_the_idea_s_own_clause() -> None:
    [walkers, *_] = user_groups(["Walkers see the day's walks on a map, owners book."], [], "P")
    assert walkers.description == "In the idea: walkers see the day's walks on a map."


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("Accountants import statements for each client.", "Clients"),  # each client
        ("Client data must stay in the UK.", "Clients"),  # a role word naming a thing
        ("Match them against the client's ledger.", "Clients"),  # possessive
        ("A SaaS for clinics: patients book appointments, doctors see notes.", "Clinics patients"),
        ("Chat between buyers and sellers.", "Between buyers"),  # no function word qualifies
    ],
)
def test_a_role_word_that_names_no_acting_group_is_no_group(sentence: str, absent: str) -> None:
    assert absent not in _names([sentence])


def test_nobody_to_run_it_is_an_assumed_administrators_group() -> None:
    groups = user_groups(["Accountants match transactions."], [], "Ledgerline")
    assert [g.name for g in groups] == ["Accountants", "Administrators"]
    assert groups[-1].description.startswith("Assumed:")
    assert "Ledgerline" in groups[-1].description


def test_no_people_at_all_is_an_assumed_group() -> None:
    groups = user_groups(["A dashboard for greenhouse sensors."], ["greenhouse", "sensors"], "P")
    assert groups[0].description == said("assumed_users")


def test_a_users_line_wins_and_keeps_its_notes() -> None:
    stated = ("garden members (many retired, on phones)", "volunteer coordinators")
    groups = user_groups(["Members share tools."], [], "P", stated)
    assert [g.name for g in groups] == ["Garden members", "Volunteer coordinators"]
    assert groups[0].description == "Many retired, on phones."


def test_people_and_organisations_as_the_audience() -> None:
    assert _names(["A tool for retired gardeners."], "retired gardeners")[0] == "Retired gardeners"
    assert _names(["An app for community gardens."], "community gardens")[0] == (
        "Members of community gardens"
    )


def test_each_limit_gets_its_own_row_by_kind() -> None:
    rows = constraints(
        "Two freelance developers, a budget of 20,000 EUR, hosted on our own server", []
    )
    assert [(row.area, row.text) for row in rows] == [
        ("team", "Two freelance developers"),
        ("budget", "A budget of 20,000 EUR"),
        ("hosting", "Hosted on our own server"),
    ]


def test_a_clause_of_the_same_kind_continues_the_row_before() -> None:
    sentence = "A team of 3 developers; the first release must be live before summer, in 5 months."
    rows = constraints("", [sentence])
    assert [(row.area, row.text) for row in rows] == [
        ("team", "A team of 3 developers"),
        ("time", "The first release must be live before summer, in 5 months"),
    ]


def test_retention_and_residency_are_regulation() -> None:
    rows = constraints("", ["Client data must stay in the UK and be kept for six years."])
    assert [row.area for row in rows] == ["regulation"]


def test_figures_come_from_the_limits_the_latest_first() -> None:
    assert team_size(["Team of three volunteers"]) == 3
    assert team_size(["Two freelance developers", "now 5 developers"]) == 5
    assert team_size(["a solo developer"]) == 1
    assert team_size(["Accountants match transactions"]) is None
    assert weeks(["First release within four months"]) == 17
    assert weeks(["launch in 10 weeks"]) == 10
    assert budget(["A budget of 20,000 EUR"]) == "20,000 EUR"
    assert budget(["no money mentioned"]) is None


def test_a_feature_with_a_number_of_weeks_is_no_limit() -> None:
    assert not is_constraint("Members get a reminder every 2 weeks.")
    assert is_constraint("The first release is due in 8 weeks and needs 3 developers.")


def test_fill_formats_filters_and_cites() -> None:
    template = [
        "For {who}.",
        {"text": "Offline: {who}.", "if": "offline"},
        {"text": "Secure.", "cite": ["Security"]},
        {"name": "{who}", "if": "not offline"},
    ]
    filled = fill(template, {"who": "guides"}, lambda name: False, lambda t, a: f"{t} {a}")
    assert filled == ["For guides.", "Secure. ['Security']", {"name": "guides"}]


def test_an_unknown_placeholder_is_a_knowledge_error() -> None:
    with pytest.raises(KnowledgeError, match="unknown value"):
        fill("For {nobody}.", {}, lambda name: True, lambda t, a: t)

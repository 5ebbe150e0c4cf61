"""A failed run's reason: docflow's own messages with what to do, nothing else verbatim."""

from __future__ import annotations

from datetime import date

import pytest

from docflow.failures import first_of_next_month, public_reason, quota_reset_words, retry_words


def test_a_writer_error_keeps_its_message_and_says_what_to_do() -> None:
    reason = public_reason(
        "write_step", "architecture", "LLMStalled",
        "The Solution Architect could not write the 'stack' section of the architecture: "
        "the LLM sent no new token for 60 s; the request was closed",
    )  # fmt: skip
    assert reason.startswith("The Solution Architect could not write the 'stack' section")
    assert reason.endswith("; check the LLM endpoint, then restart the run.")


@pytest.mark.parametrize(
    ("activity", "timed_out", "expected"),
    [
        ("accept_step", False, "Step 'plan' failed while saving the accepted plan; restart"),
        ("index_versions", False, "while adding the accepted plan to project memory;"),
        ("write_step", True, "Step 'plan' failed: writing the plan took too long;"),
        ("some_new_activity", False, "while running the plan step;"),
    ],
)
def test_any_other_error_becomes_a_sentence_without_its_text(
    activity: str, timed_out: bool, expected: str
) -> None:
    leak = "(psycopg) INSERT INTO versions VALUES ('secret text') [parameters: ...]"
    reason = public_reason(activity, "plan", "IntegrityError", leak, timed_out)
    assert expected in reason and "INSERT" not in reason and "secret" not in reason
    assert public_reason(activity, "plan", None, "", timed_out).startswith("Step 'plan' failed")


def test_a_quota_says_when_it_resets() -> None:
    assert first_of_next_month(date(2026, 12, 15)) == date(2027, 1, 1)
    assert first_of_next_month(date(2026, 1, 31)) == date(2026, 2, 1)
    assert quota_reset_words(date(2026, 12, 1)) == "it resets on 1 January"
    message = "quota exceeded: the tenant has used 5000 of its 4000 llm tokens this month"
    reason = public_reason("write_step", "description", "QuotaExceeded", message)
    assert reason == f"{message}."


def test_a_retried_activity_says_what_the_run_waits_for() -> None:
    assert retry_words("accept_step", "plan", 3, "OperationalError") == (
        "Trying again (waiting for the database): saving the accepted plan, attempt 3."
    )
    assert "waiting for the LLM endpoint" in retry_words("write_step", "plan", 2, "LLMStalled")
    assert "(after an error)" in retry_words("write_step", "plan", 2, "IntegrityError")

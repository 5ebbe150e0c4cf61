"""Why a run failed, in one sentence a viewer may read.

A run's failure reason is shown to everyone who can see the project: the run's state, the
``run_failed`` event on the stream, the CLI and the web app. Only errors docflow raised on
purpose, whose messages it wrote (the writer's classes, quotas, missing rows, invalid
input), are shown as they are; anything else (a database error with its SQL and
parameters, a driver's message quoting document text) becomes a sentence naming the
step, what was being done and what to do. The technical error stays where operators read
it: the worker's log, the activity's failure in Temporal, and ``agent_runs.error``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

# ApplicationError types whose messages docflow writes for people (docflow.agents.errors,
# activities.errors, the quota check), with what the person can do about each.
WHAT_TO_DO = {
    "LLMUnavailable": "check the LLM endpoint, then restart the run",
    "LLMStalled": "check the LLM endpoint, then restart the run",
    "MalformedReply": "restart the run, or choose a larger model",
    "ContractUnfilled": "restart the run, or choose a larger model",
    "LLMRequestRefused": "check the LLM settings, then restart the run",
    "WriterConfig": "check the LLM settings, then restart the run",
    "QuotaExceeded": "",  # the message says when the quota resets
    "NotFound": "restart the run",
    "InvalidInput": "restart the run",
}
DOING = {
    "write_step": "writing the {step}",
    "score_versions": "checking the quality of the {step}",
    "save_edit": "saving your edit of the {step}",
    "accept_step": "saving the accepted {step}",
    "index_versions": "adding the accepted {step} to project memory",
    "export_package": "exporting the package",
}
GENERIC_TODO = (
    "restart the run; if it fails again, an operator can find the cause in the worker's log"
)


def first_of_next_month(today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def quota_reset_words(today: date | None = None) -> str:
    reset = first_of_next_month(today)
    return f"it resets on {reset.day} {reset.strftime('%B')}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def public_reason(
    activity: str, step: str, error_type: str | None, message: str, timed_out: bool = False
) -> str:
    """The sentence a viewer reads for a failed activity of ``step``.

    ``error_type`` is the ApplicationError's type (None when the cause was not one),
    ``message`` its message; ``timed_out`` when the activity ran out of time."""
    if error_type in WHAT_TO_DO:
        todo = WHAT_TO_DO[error_type]
        return _sentence(f"{message.rstrip('.')}; {todo}" if todo else message)
    doing = DOING.get(activity, "running the {step} step").format(step=step)
    if timed_out:
        return _sentence(f"Step '{step}' failed: {doing} took too long; {GENERIC_TODO}")
    return _sentence(f"Step '{step}' failed while {doing}; {GENERIC_TODO}")


# What an activity's last failure says about the service it waits for (by exception type).
WAITING_FOR = {
    "OperationalError": "the database",
    "InterfaceError": "the database",
    "ConnectionRefusedError": "the database",
    "ConnectionDoesNotExistError": "the database",
    "CannotConnectNowError": "the database",
    "TimeoutError": "a service",
    "RedisError": "Valkey (Redis)",
    "ConnectionError": "Valkey (Redis)",
    "LLMUnavailable": "the LLM endpoint",
    "LLMStalled": "the LLM endpoint",
}


def retry_words(activity: str, step: str, attempt: int, failure_type: str | None) -> str:
    """What a run waits for while an activity is tried again, for the run's state."""
    doing = DOING.get(activity, "running the {step} step").format(step=step)
    waiting = WAITING_FOR.get(failure_type or "")
    why = f"waiting for {waiting}" if waiting else "after an error"
    return f"Trying again ({why}): {doing}, attempt {attempt}."

"""Why a writer could not write a section: each class says whether retrying can help.

Only the explicit non-retryable classes stop a run (bad configuration, a request the
provider refuses, a contract still unfilled after the repairs and Temporal's attempts);
everything else is retried by Temporal, which resumes the step at its first unwritten
section. Messages are one plain sentence without document text: they become a run's
failure reason, which viewers read.
"""

from __future__ import annotations

from docflow.agents.writer import Usage


class WriterError(Exception):
    """Base class: ``retryable`` says whether another attempt can succeed."""

    retryable = True
    kind = "WriterError"

    def __init__(
        self, message: str, retry_after_s: float | None = None, usage: Usage | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        self.usage = usage or Usage()  # tokens the failed call still cost
        self.section: str | None = None  # the section being written, set by the composer


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from concurrent sections: a final one before a retryable one."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop(0)
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    final = [e for e in leaves if isinstance(e, WriterError) and not e.retryable]
    return (final or leaves)[0]


class LLMUnavailableError(WriterError):
    """The provider is down, slow, throttling, or its circuit breaker is open."""

    kind = "LLMUnavailable"


class LLMStalledError(LLMUnavailableError):
    """No first token, or no new token, within the configured time; the request was closed."""

    kind = "LLMStalled"


class MalformedReplyError(WriterError):
    """A reply that did not fill the section's contract (cut off, not JSON, wrong shape)."""

    kind = "MalformedReply"


class ContractUnfilledError(WriterError):
    """Replies kept failing the contract after the repair re-asks and Temporal's attempts."""

    retryable = False
    kind = "ContractUnfilled"


class LLMRequestError(WriterError):
    """The provider refused the request (4xx other than 408/425/429): retrying cannot help."""

    retryable = False
    kind = "LLMRequestRefused"


class WriterConfigError(WriterError):
    """docflow's LLM settings are wrong (unknown provider, bad URL, unknown role)."""

    retryable = False
    kind = "WriterConfig"

"""Errors that retrying cannot fix: raised as non-retryable ApplicationErrors."""

from temporalio.exceptions import ApplicationError

from docflow.storage.repositories import NotFoundError


def not_found(error: NotFoundError) -> ApplicationError:
    return ApplicationError(str(error), type="NotFound", non_retryable=True)


def invalid_input(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidInput", non_retryable=True)

"""Typed service errors: each carries a stable code, a message and the HTTP status it maps to."""

from typing import Any


class ExecutorError(Exception):
    """A handled failure that the API turns into ``{"error": {"code", "message"}}``.

    Subclasses set ``code`` and ``http_status``; ``context`` holds extra fields (e.g. the maximum
    a limit may take) that are returned beside the message.
    """

    code: str = "executor_error"
    http_status: int = 400

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class UnsupportedMediaType(ExecutorError):
    code = "unsupported_media_type"
    http_status = 415


class BodyTooLarge(ExecutorError):
    code = "body_too_large"
    http_status = 413


class UnknownLanguage(ExecutorError):
    code = "unknown_language"
    http_status = 400


class VersionUnavailable(ExecutorError):
    code = "version_unavailable"
    http_status = 400


class InvalidSubmission(ExecutorError):
    """The request is well-formed JSON but describes something we cannot run."""

    code = "invalid_submission"
    http_status = 422


class LimitTooHigh(ExecutorError):
    code = "limit_too_high"
    http_status = 422


class ServiceBusy(ExecutorError):
    """The queue is full; the client should retry after ``retry_after_s`` seconds."""

    code = "busy"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(ExecutorError):
    """The service is starting or shutting down and takes no new work; the client should retry
    after ``retry_after_s`` seconds (on another replica)."""

    code = "unavailable"
    http_status = 503

    def __init__(self, message: str, *, retry_after_s: int = 1, **context: Any) -> None:
        super().__init__(message, retry_after_s=retry_after_s, **context)
        self.retry_after_s = retry_after_s


class ServiceDraining(ServiceUnavailable):
    """SIGTERM arrived: this replica finishes its work and takes none; another one will."""

    code = "draining"


class AnswersBacklogged(ServiceUnavailable):
    """Answers already waiting for their clients hold the bytes this one needs; the client
    should retry (a submission_id / Idempotency-Key replays the stored result)."""

    code = "answers_backlogged"


class Unauthorized(ExecutorError):
    """No API key, or one that is not valid here."""

    code = "unauthorized"
    http_status = 401


class IdempotencyConflict(ExecutorError):
    """The submission id was used before with a different request."""

    code = "idempotency_conflict"
    http_status = 409

"""Errors an engine raises; the HTTP layer maps each to one status code."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: something went wrong producing an answer."""

    status_code = 500
    error_type = "server_error"


class ModelError(EngineError):
    """The model file is missing, incomplete or not the one we expect."""

    error_type = "model_error"


class ContextOverflowError(EngineError):
    """The prompt (plus the room asked for the answer) does not fit the context window."""

    status_code = 400
    error_type = "invalid_request_error"

    def __init__(self, prompt_tokens: int, limit: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.limit = limit
        super().__init__(
            f"the prompt has {prompt_tokens} tokens, more than this model's context "
            f"limit of {limit} tokens per request; shorten the conversation"
        )


class QueueFullError(EngineError):
    """More requests are waiting than the bounded queue holds."""

    status_code = 429
    error_type = "rate_limit_error"

    def __init__(self, waiting: int, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"the server is busy ({waiting} requests already waiting); retry in {retry_after} s"
        )


class BadRequestError(EngineError):
    status_code = 400
    error_type = "invalid_request_error"

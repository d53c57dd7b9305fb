"""Domain errors.

They carry a machine-readable ``code`` and a human message, never an HTTP status: only
``agent_desktop_api`` turns a domain error into a status code.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: str = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ValidationError(DomainError):
    """A value from outside (CSV, API, DTMF, AMI, config) is not acceptable."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class InvalidTransition(DomainError):
    """A state machine was asked for a transition its table does not allow."""

    code = "invalid_transition"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"

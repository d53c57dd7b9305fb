"""The only place where a domain error becomes an HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recobro.domain.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationError

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (ValidationError, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidTransition, 409),
)


def status_of(exc: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def install(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        body: dict[str, object] = {"error": exc.code, "message": exc.message}
        field = getattr(exc, "field", None)
        if field:
            body["field"] = field
        return JSONResponse(body, status_code=status_of(exc))

    app.add_exception_handler(DomainError, domain_error)

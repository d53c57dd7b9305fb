"""The only place where a domain error becomes an HTTP status (and an auth error a 401/403)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agent_desktop_api.auth import AuthError
from recobro.domain.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationError

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (ValidationError, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidTransition, 409),
)


class Unavailable(Exception):
    """A route whose service this process was not given (503)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.message = f"Servicio no disponible / Service not available: {service}"


def status_of(exc: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_body(exc: DomainError) -> dict[str, object]:
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    return body


def install(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return JSONResponse(error_body(exc), status_code=status_of(exc))

    async def auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status, headers=headers)

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Unavailable)
        return JSONResponse({"error": "unavailable", "message": exc.message}, status_code=503)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(AuthError, auth_error)
    app.add_exception_handler(Unavailable, unavailable)

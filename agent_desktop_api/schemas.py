"""The websocket messages as pydantic models: what clients send, checked before anything acts.

Every message is a JSON object with a ``type`` and a protocol version ``v`` (1; a client that
omits it means 1). ``parse`` turns raw text into a model or a ``BadMessage`` that names the
problem (``too_large``, ``malformed_json``, ``not_an_object``, ``unknown_type``, ``wrong_role``,
``unsupported_version``, ``invalid_message`` with the field), which the hub sends back as an
``error`` message; the socket stays open. ``agent_desktop_api/PROTOCOL.md`` shows each one.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

VERSION = 1


class BadMessage(Exception):
    def __init__(self, code: str, message: str, *, field: str | None = None, request_type: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.request_type = request_type

    def as_message(self) -> dict[str, Any]:
        return error_message(self.code, self.message, field=self.field, request_type=self.request_type)


def error_message(code: str, message: str, *, field: str | None = None, request_type: str | None = None,
                  **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "v": VERSION, "error": code, "message": message}
    if field:
        out["field"] = field
    if request_type:
        out["request_type"] = request_type
    out.update(extra)
    return out


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)
    v: Literal[1] = 1


# --- agent -> server ------------------------------------------------------------------------


class ReadyIn(_In):
    type: Literal["ready"]


class PauseIn(_In):
    type: Literal["pause"]
    reason: str = Field(min_length=1, max_length=50)


class LogoutIn(_In):
    type: Literal["logout"]


class HangupIn(_In):
    type: Literal["hangup"]
    call_id: str | None = Field(None, max_length=64)


class DispositionIn(_In):
    type: Literal["disposition"]
    code: str = Field(min_length=1, max_length=30)
    call_id: str | None = Field(None, max_length=64)
    account_id: int | None = None
    promise_amount: Decimal | None = Field(None, max_digits=14, decimal_places=2)
    promise_date: date | None = None
    callback_at: AwareDatetime | None = None
    notes: str = Field("", max_length=2000)
    idempotency_key: str | None = Field(None, min_length=1, max_length=100)


class ScheduleCallbackIn(_In):
    type: Literal["schedule_callback"]
    account_id: int
    callback_at: AwareDatetime
    number: str | None = Field(None, max_length=16)
    campaign_id: int | None = None


class PreviewRequestIn(_In):
    type: Literal["preview_request"]
    campaign_id: int | None = None


class ManualDialIn(_In):
    type: Literal["manual_dial", "preview_dial"]
    account_id: int
    number: str | None = Field(None, max_length=16)
    campaign_id: int | None = None


class PreviewSkipIn(_In):
    type: Literal["preview_skip"]
    account_id: int
    reason: str = Field("", max_length=100)


class PingIn(_In):
    type: Literal["ping"]


# --- supervisor -> server -------------------------------------------------------------------


class ControlIn(_In):
    """``set`` (any of mode, target_abandon_rate, max_dial_ratio), ``pause``/``resume`` a campaign,
    ``force_pause``/``force_logout`` an agent (by ``agent`` username or ``agent_id``)."""

    type: Literal["control"]
    action: Literal["set", "pause", "resume", "force_pause", "force_logout"]
    campaign_id: int | None = None
    mode: str | None = Field(None, max_length=20)
    target_abandon_rate: float | None = None
    max_dial_ratio: float | None = None
    agent: str | None = Field(None, max_length=100)
    agent_id: int | None = None
    reason: str | None = Field(None, max_length=50)


class SubscribeIn(_In):
    """Only these campaigns' metrics (empty: all)."""

    type: Literal["subscribe"]
    campaign_ids: list[int] = Field(default_factory=list, max_length=1000)


AGENT_IN: dict[str, type[_In]] = {
    "ready": ReadyIn, "pause": PauseIn, "logout": LogoutIn, "hangup": HangupIn, "disposition": DispositionIn,
    "schedule_callback": ScheduleCallbackIn, "preview_request": PreviewRequestIn, "manual_dial": ManualDialIn,
    "preview_dial": ManualDialIn, "preview_skip": PreviewSkipIn, "ping": PingIn,
}
SUPERVISOR_IN: dict[str, type[_In]] = {"control": ControlIn, "subscribe": SubscribeIn, "ping": PingIn}


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p != "__root__")


def parse(raw: str | bytes, accepted: dict[str, type[_In]], other: dict[str, type[_In]], *,
          limit: int, role: str) -> _In:
    """The message in ``raw`` as its model, or ``BadMessage`` naming what is wrong."""
    if len(raw) > limit:
        raise BadMessage("too_large", f"Mensaje de {len(raw)} bytes, el límite es {limit} / "
                                      f"Message of {len(raw)} bytes, the limit is {limit}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadMessage("malformed_json", f"JSON mal formado / Malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadMessage("not_an_object", "Se esperaba un objeto JSON / A JSON object was expected")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadMessage("invalid_message", "Falta el campo 'type' / Missing field 'type'", field="type")
    model = accepted.get(kind)
    if model is None:
        if kind in other and kind not in accepted:
            raise BadMessage("wrong_role", f"El mensaje '{kind}' no es para el rol '{role}' / "
                                           f"Message '{kind}' is not for role '{role}'", request_type=kind)
        raise BadMessage("unknown_type", f"Tipo de mensaje desconocido / Unknown message type: '{kind[:50]}'",
                         field="type", request_type=kind[:50])
    if "v" in data and data["v"] != VERSION:
        raise BadMessage("unsupported_version", f"Versión no soportada / Unsupported version {data['v']!r}; use 1",
                         field="v", request_type=kind)
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        first = exc.errors()[0]
        where = _where(first)
        if first.get("type") == "missing":
            text = f"Falta el campo '{where}' / Missing field '{where}'"
        elif first.get("type") == "extra_forbidden":
            text = f"Campo no permitido '{where}' / Field not allowed '{where}'"
        else:
            text = f"Campo '{where}' inválido / Invalid field '{where}': {first.get('msg', '')}"
        raise BadMessage("invalid_message", text, field=where, request_type=kind) from None


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, default=_default, ensure_ascii=False, separators=(",", ":"))


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)

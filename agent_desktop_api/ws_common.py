"""What both websockets share: authentication at the door, one ordered sender per socket, reading.

The token comes in the query string (``?token=``, what a browser's ``WebSocket`` can send) or
an ``Authorization: Bearer`` header. The socket is accepted first so that a refusal can say
why (an ``error`` message), then closed with 4401 (not authenticated) or 4403 (wrong role):
the only two cases in which the server closes a socket on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from agent_desktop_api.auth import AuthError, Identity
from agent_desktop_api.schemas import dumps, error_message
from agent_desktop_api.services import DesktopServices

log = logging.getLogger(__name__)
CLOSE_UNAUTHENTICATED = 4401
CLOSE_WRONG_ROLE = 4403


def token_of(ws: WebSocket) -> str | None:
    token = ws.query_params.get("token")
    if token:
        return token
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def admit(ws: WebSocket, svc: DesktopServices, role: str) -> Identity | None:
    """The caller's identity, or None after telling them why and closing the socket."""
    await ws.accept()
    try:
        if svc.auth is None:
            raise AuthError(401, "unauthorized", "La autenticación no está configurada / Authentication not configured")
        who = svc.auth.verify(token_of(ws))
    except AuthError as exc:
        await _refuse(ws, error_message(exc.code, exc.message), CLOSE_UNAUTHENTICATED)
        return None
    if who.role != role:
        text = (f"Este canal es para el rol '{role}', su rol es '{who.role}' / "
                f"This socket is for role '{role}', yours is '{who.role}'")
        await _refuse(ws, error_message("wrong_role", text), CLOSE_WRONG_ROLE)
        return None
    return who


async def _refuse(ws: WebSocket, message: dict[str, Any], code: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.send_text(dumps(message))
        await ws.close(code=code)


class Outbox:
    """One socket's outgoing messages, sent in order by one task (nobody else writes to the socket).

    Bounded: a client that stops reading loses its oldest messages rather than growing memory
    (every state message carries the whole state, so the newest one is enough).
    """

    def __init__(self, ws: WebSocket, maxsize: int = 500) -> None:
        self._ws = ws
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ws-outbox")

    def put(self, message: dict[str, Any]) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(dumps(message))

    async def _run(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                if self._ws.client_state != WebSocketState.CONNECTED:
                    return
                await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the reader sees the disconnect and cleans up

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def receive_text(ws: WebSocket) -> str | bytes | None:
    """The next client message (text or bytes), or None when the client is gone."""
    try:
        message = await ws.receive()
    except (WebSocketDisconnect, RuntimeError):
        return None
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is not None:
        return str(text)
    data = message.get("bytes")
    return bytes(data) if data is not None else ""

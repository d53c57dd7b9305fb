"""Who is calling: password log-in (argon2), signed expiring tokens, roles.

A token is ``base64url(json claims) . base64url(HMAC-SHA256(secret, first part))`` — the
standard library's ``hmac`` is all it takes, and the claims are few: the agent's id, username,
role, expiry (Unix seconds, real time: a session is a person's working day, not simulated time)
and a random id that ``logout`` revokes. The password check runs in a thread: argon2 is slow on
purpose, and the event loop carries live calls.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.storage.models import AgentRow

ROLES = ("agent", "supervisor")


class AuthError(Exception):
    """Not authenticated (401) or not allowed (403); ``code`` names the problem."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def unauthorized(message: str = "Se requiere iniciar sesión / Authentication required") -> AuthError:
    return AuthError(401, "unauthorized", message)


def forbidden_role(needed: str, role: str) -> AuthError:
    return AuthError(
        403, "wrong_role",
        f"Se requiere el rol '{needed}', su rol es '{role}' / Role '{needed}' required, yours is '{role}'",
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """The holder of a valid token."""

    agent_id: int
    username: str
    role: str
    display_name: str
    expires: int
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """Log-in against the agents table, token issue and check, revocation on log-out."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        *,
        secret: str,
        ttl_seconds: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 characters")
        self._sessions = sessions
        self._key = secret.encode("utf-8")
        self._ttl = int(ttl_seconds)
        self._now = now
        self._hasher = PasswordHasher()
        self._revoked: dict[str, int] = {}  # token id -> expiry (kept until the token would expire)

    # --- tokens -----------------------------------------------------------------------------

    def issue(self, *, agent_id: int, username: str, role: str, display_name: str = "") -> tuple[str, Identity]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        ident = Identity(agent_id, username, role, display_name or username, int(self._now()) + self._ttl,
                         secrets.token_urlsafe(12))
        claims = {"uid": ident.agent_id, "sub": ident.username, "role": ident.role, "name": ident.display_name,
                  "exp": ident.expires, "jti": ident.token_id}
        body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{body}.{self._sign(body)}", ident

    def verify(self, token: str | None) -> Identity:
        """The identity of a valid, unexpired, unrevoked token; ``AuthError`` (401) otherwise."""
        if not token or token.count(".") != 1 or len(token) > 4096:
            raise unauthorized()
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise unauthorized("Token inválido / Invalid token")
        try:
            claims = json.loads(_unb64(body))
            ident = Identity(int(claims["uid"]), str(claims["sub"]), str(claims["role"]), str(claims["name"]),
                             int(claims["exp"]), str(claims["jti"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise unauthorized("Token inválido / Invalid token") from None
        if ident.expires <= self._now():
            raise unauthorized("La sesión expiró / The session expired")
        if ident.token_id in self._revoked:
            raise unauthorized("La sesión se cerró / The session was closed")
        return ident

    def revoke(self, ident: Identity) -> None:
        now = self._now()
        for jti, exp in list(self._revoked.items()):
            if exp <= now:
                del self._revoked[jti]
        self._revoked[ident.token_id] = ident.expires

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    # --- passwords --------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> tuple[str, Identity]:
        """A token for an active agent or supervisor whose password matches; 401 otherwise."""
        bad = unauthorized("Usuario o contraseña incorrectos / Wrong username or password")
        if self._sessions is None or not username or not password or len(password) > 1024:
            raise bad
        async with self._sessions() as s:
            row = (await s.execute(select(AgentRow).where(AgentRow.username == username))).scalar_one_or_none()
            found = None if row is None else (row.id, row.role, row.display_name, row.password_hash, row.active)
        if found is None or not found[4] or found[1] not in ROLES:
            await asyncio.to_thread(self._burn, password)  # the same time whether or not the user exists
            raise bad
        agent_id, role, display_name, hashed, _ = found
        if not await asyncio.to_thread(self._matches, hashed, password):
            raise bad
        return self.issue(agent_id=agent_id, username=username, role=role, display_name=display_name)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def _matches(self, hashed: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False

    def _burn(self, password: str) -> None:
        self._hasher.hash(password)

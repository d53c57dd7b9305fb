"""``/api/auth``: log in with a password, log out (the token is revoked), who am I."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent_desktop_api.deps import Anyone, Services, authenticator

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105  # the scheme, not a secret
    agent_id: int
    username: str
    display_name: str
    role: str
    expires_at: str


@router.post("/api/auth/login", response_model=LoginOut)
async def login(body: LoginIn, svc: Services) -> LoginOut:
    token, who = await authenticator(svc).login(body.username.strip(), body.password)
    return LoginOut(token=token, agent_id=who.agent_id, username=who.username, display_name=who.display_name,
                    role=who.role, expires_at=datetime.fromtimestamp(who.expires, UTC).isoformat())


@router.post("/api/auth/logout")
async def logout(who: Anyone, svc: Services) -> dict[str, Any]:
    """Revoke the token; an agent is also logged out of the ACD (after the call in hand, if any)."""
    authenticator(svc).revoke(who)
    acd = svc.acd
    state = None
    if who.role == "agent" and acd is not None and acd.known(who.agent_id) and acd.status(who.agent_id).logged_in:
        after = await acd.logout(who.agent_id)
        state = after.state.value
    return {"ok": True, "state": state}


@router.get("/api/auth/me")
async def me(who: Anyone) -> dict[str, Any]:
    return {"agent_id": who.agent_id, "username": who.username, "display_name": who.display_name,
            "role": who.role, "expires_at": datetime.fromtimestamp(who.expires, UTC).isoformat()}

"""The REST API over a real uvicorn server: log-in, roles, campaigns, lists, agents, records, KPIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from agent_desktop_api.auth import Authenticator, AuthError
from tests.api.helpers import PASSWORD, desk


def client(base: str, token: str | None = None) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.AsyncClient(base_url=f"http://{base}", headers=headers)


def test_tokens_are_signed_expire_and_can_be_revoked() -> None:
    clock = [1000.0]
    auth = Authenticator(None, secret="s" * 20, ttl_seconds=60, now=lambda: clock[0])
    token, who = auth.issue(agent_id=7, username="ana", role="agent")
    assert auth.verify(token) == who
    body, sig = token.split(".")
    forged = Authenticator(None, secret="t" * 20, ttl_seconds=60).issue(agent_id=8, username="x", role="supervisor")
    for bad in (f"{body}.{sig[:-2]}xx", f"{forged[0].split('.')[0]}.{sig}", "", "a.b.c", None):
        with pytest.raises(AuthError) as err:
            auth.verify(bad)
        assert err.value.status == 401
    clock[0] += 61
    with pytest.raises(AuthError, match="expired"):
        auth.verify(token)
    clock[0] -= 61
    auth.revoke(who)
    with pytest.raises(AuthError, match="closed"):
        auth.verify(token)


async def test_login_roles_and_the_agent_cannot_act_for_another(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        async with client(d.base) as anon:
            bad = await anon.post("/api/auth/login", json={"username": "sim01", "password": "wrong"})
            assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"
            assert (await anon.post("/api/auth/login", json={"username": "nobody", "password": "x"})).status_code == 401
            assert (await anon.get("/api/campaigns")).status_code == 401
            assert (await anon.get("/api/docs")).status_code == 200
        sup = await d.login("supervisor")
        assert sup["role"] == "supervisor" and sup["token"]
        agent = await d.login("sim01")
        assert agent["role"] == "agent"
        other = await d.login("sim02")
        async with client(d.base, agent["token"]) as a:
            denied = await a.get("/api/agents")
            assert denied.status_code == 403 and denied.json()["error"] == "wrong_role"
            assert (await a.get(f"/api/dispositions?agent_id={other['agent_id']}")).status_code == 403
            assert (await a.get(f"/api/kpis/agents/{other['agent_id']}")).status_code == 403
            assert (await a.get("/api/dispositions")).status_code == 200
            assert (await a.get("/api/agents/me/callbacks?due=today")).json() == {"callbacks": []}
            assert (await a.post("/api/auth/logout")).json() == {"ok": True, "state": None}
            assert (await a.get("/api/dispositions")).status_code == 401  # the token was revoked
        async with client(d.base, sup["token"]) as s:
            assert (await s.get("/api/agents/me/callbacks")).status_code == 403  # agents only


async def test_campaigns_lists_agents_and_skills(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        token = await d.token("supervisor")
        async with client(d.base, token) as s:
            made = await s.post("/api/campaigns", json={"name": "temprana", "mode": "progressive",
                                                        "window_start": "09:00", "window_end": "20:00",
                                                        "wrap_up_limit_seconds": 45, "required_skills": ["es"]})
            assert made.status_code == 201, made.text
            cid = made.json()["id"]
            assert (await s.post("/api/campaigns", json={"name": "temprana"})).status_code == 409
            bad = await s.patch(f"/api/campaigns/{cid}", json={"window_start": "21:00", "window_end": "08:00"})
            assert bad.status_code == 422 and bad.json()["field"] == "window"
            bad_rate = await s.patch(f"/api/campaigns/{cid}", json={"target_abandon_rate": 0.5})
            assert bad_rate.status_code == 422
            edited = await s.patch(f"/api/campaigns/{cid}", json={"script": "Hola {debtor_name}"})
            assert edited.json()["script"] == "Hola {debtor_name}" and edited.json()["window_start"] == "09:00"
            accounts = (await s.get("/api/accounts?limit=3")).json()["accounts"]
            assigned = await s.post(f"/api/campaigns/{cid}/accounts",
                                    json={"account_ids": [accounts[0]["id"], 999999],
                                          "external_refs": [accounts[1]["external_ref"]]})
            assert assigned.json() == {"campaign_id": cid, "added": 2, "accounts": 2, "unknown": [999999]}
            new = await s.post("/api/agents", json={"username": "ana", "display_name": "Ana", "password": "secreta123",
                                                    "skills": {"es": 8}, "campaigns": [cid]})
            assert new.status_code == 201, new.text
            bad_skill = await s.put(f"/api/agents/{new.json()['id']}/skills", json={"skills": {"en": 11}})
            assert bad_skill.status_code == 422
            skills = await s.put(f"/api/agents/{new.json()['id']}/skills", json={"skills": {"en": 3}})
            assert skills.status_code == 200
            agents = {a["username"]: a for a in (await s.get("/api/agents")).json()["agents"]}
            assert agents["ana"]["skills"] == {"en": 3} and agents["ana"]["campaigns"] == [cid]
            assert agents["ana"]["state"] == "logged_out"
            team = await s.put(f"/api/campaigns/{cid}/agents", json={"agent_ids": [agents["sim01"]["id"]]})
            assert team.json()["agents"] == [agents["sim01"]["id"]]
            pen = {c["name"]: c for c in (await s.get("/api/campaigns/penetration")).json()["campaigns"]}
            assert pen["temprana"]["accounts"] == 2 and pen["temprana"]["remaining"] == 2
        assert (await d.login("ana", "secreta123"))["role"] == "agent"


async def test_import_of_a_list_reuses_the_cli_validation(tmp_path: Path) -> None:
    csv = (
        "external_ref,debtor_name,balance,currency,due_date,days_past_due,phone1\n"
        "N-1,Rosa Díaz,1500.00,MXN,2026-02-01,31,5512345678\n"
        "N-2,Sin Saldo,abc,MXN,2026-02-01,31,5512345679\n"
    )
    async with desk(tmp_path) as d:
        token = await d.token("supervisor")
        async with client(d.base, token) as s:
            r = await s.post("/api/imports/accounts", data={"campaign": "nueva", "region": "MX"},
                             files={"file": ("lista.csv", csv.encode(), "text/csv")})
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            assert (body["imported"], body["rejected"], body["campaign_created"]) == (1, 1, True)
            assert body["rejected_rows"][0]["line"] == 3 and body["rejected_rows"][0]["column"] == "balance"
            refused = await s.post("/api/imports/accounts", data={"campaign": "nueva"},
                                   files={"file": ("vacia.csv", b"external_ref,debtor_name\n", "text/csv")})
            assert refused.status_code == 422
            found = (await s.get("/api/accounts?q=N-1")).json()["accounts"]
            assert [a["external_ref"] for a in found] == ["N-1"]
            history = (await s.get(f"/api/accounts/{found[0]['id']}")).json()
            assert history["phones"][0]["e164"] == "+525512345678" and history["calls"] == []
        agent_token = await d.token("sim01")
        async with client(d.base, agent_token) as a:
            assert (await a.post("/api/imports/accounts", data={"campaign": "x"},
                                 files={"file": ("l.csv", csv.encode(), "text/csv")})).status_code == 403


async def test_kpis_with_nothing_dialed_are_zero_and_undefined_rates(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        token = await d.token("supervisor")
        async with client(d.base, token) as s:
            k = (await s.get(f"/api/kpis/campaigns/{d.campaign_id}")).json()
            assert (k["dials"], k["contact_rate"], k["promises"], k["amount_promised"]) == (0, None, 0, "0.00")
            naive = await s.get(f"/api/kpis/campaigns/{d.campaign_id}",
                                params={"since": "2026-03-01T00:00:00", "until": "2026-03-02T00:00:00"})
            assert naive.status_code == 422
            agents = (await s.get("/api/kpis/agents")).json()["agents"]
            assert {a["username"] for a in agents} == {"sim01", "sim02"}
        assert PASSWORD

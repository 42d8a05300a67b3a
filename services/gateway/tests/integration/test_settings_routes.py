"""Settings REST (channels, AI settings) through the gateway and the real tenant gRPC server."""

from __future__ import annotations

import uuid


class TestChannelRoutes:
    async def test_crud_masking_webhook_url_and_rotation(self, stack):
        tenant_id = await stack.new_tenant()
        admin = await stack.user_headers(tenant_id, "admin")
        body = {
            "provider": "gupshup", "name": "Vendas", "external_id": "ImobApp", "phone_number": "5541999990000",
            "secrets": {"api_key": "gupshup-api-key-0123456789"},
        }  # fmt: skip
        r = await stack.http.post("/api/v1/settings/channels", json=body, headers=admin)
        assert r.status_code == 201, r.text
        channel = r.json()
        assert channel["masked_secrets"] == {"api_key": "••••6789"}
        assert "gupshup-api-key-0123456789" not in r.text
        assert channel["webhook_url"].startswith("https://api.example.com/api/v1/webhook/gupshup/")
        r = await stack.http.patch(
            f"/api/v1/settings/channels/{channel['id']}",
            json={"active": False, "name": "Locação"},
            headers=admin,
        )
        assert r.status_code == 200 and (r.json()["active"], r.json()["name"]) == (False, "Locação")
        r = await stack.http.post(f"/api/v1/settings/channels/{channel['id']}/rotate-token", headers=admin)
        assert r.status_code == 200 and r.json()["webhook_url"] != channel["webhook_url"]
        r = await stack.http.get("/api/v1/settings/channels", headers=admin)
        assert [c["id"] for c in r.json()] == [channel["id"]]
        r = await stack.http.delete(f"/api/v1/settings/channels/{channel['id']}", headers=admin)
        assert r.status_code == 204
        r = await stack.http.get(f"/api/v1/settings/channels/{channel['id']}", headers=admin)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    async def test_validation_roles_and_isolation(self, stack):
        tenant_id, other_id = await stack.new_tenant(), await stack.new_tenant()
        admin, other = (
            await stack.user_headers(tenant_id, "admin"),
            await stack.user_headers(other_id, "admin"),
        )
        r = await stack.http.post(
            "/api/v1/settings/channels",
            json={"provider": "x", "external_id": "1", "secrets": {}},
            headers=admin,
        )
        assert r.status_code == 422 and "provider" in r.json()["error"]["message"]
        r = await stack.http.post(
            "/api/v1/settings/channels",
            json={"provider": "zapi", "external_id": "inst-1", "secrets": {"client_token": "c"}},
            headers=admin,
        )
        assert r.status_code == 400 and "token" in r.json()["error"]["message"]
        body = {
            "provider": "zapi",
            "external_id": f"inst-{uuid.uuid4().hex[:6]}",
            "secrets": {"token": "t" * 20},
        }
        channel = (await stack.http.post("/api/v1/settings/channels", json=body, headers=admin)).json()
        assert (
            await stack.http.get(f"/api/v1/settings/channels/{channel['id']}", headers=other)
        ).status_code == 404
        seller = await stack.user_headers(tenant_id, "seller")
        assert (await stack.http.get("/api/v1/settings/channels", headers=seller)).status_code == 403
        r = await stack.http.get(
            "/api/v1/settings/channels", params={"tenant_id": tenant_id}, headers=await stack.superadmin()
        )
        assert [c["id"] for c in r.json()] == [channel["id"]]


class TestAiRoutes:
    async def test_put_versions_diff_rollback(self, stack):
        tenant_id = await stack.new_tenant()
        admin = await stack.user_headers(tenant_id, "admin")
        r = await stack.http.get("/api/v1/settings/ai", headers=admin)
        assert r.status_code == 200 and r.json()["version"] == 0 and r.json()["settings"]["model"] == "gpt-4o"
        r = await stack.http.put(
            "/api/v1/settings/ai", json={"tone": "formal", "temperature": 0.3}, headers=admin
        )
        assert r.status_code == 200 and r.json()["version"] == 1
        assert r.json()["actor_email"].endswith("@example.com")
        r = await stack.http.put(
            "/api/v1/settings/ai",
            json={"handoff": {"score_threshold": 80, "keywords": ["visita"]}},
            headers=admin,
        )
        assert r.json()["version"] == 2 and r.json()["settings"]["tone"] == "formal"
        r = await stack.http.get("/api/v1/settings/ai/diff", params={"from": 1, "to": 2}, headers=admin)
        changes = {c["field"]: (c["from_value"], c["to_value"]) for c in r.json()}
        assert changes == {
            "handoff.keywords": (changes["handoff.keywords"][0], ["visita"]),
            "handoff.score_threshold": (70, 80),
        }
        r = await stack.http.post("/api/v1/settings/ai/rollback/1", headers=admin)
        assert (r.json()["version"], r.json()["rolled_back_from"]) == (3, 1)
        r = await stack.http.get("/api/v1/settings/ai/versions", headers=admin)
        assert [v["version"] for v in r.json()] == [3, 2, 1]
        r = await stack.http.get("/api/v1/settings/ai/versions/2", headers=admin)
        assert r.json()["settings"]["handoff"]["score_threshold"] == 80
        r = await stack.http.put("/api/v1/settings/ai", json={"temperature": 3}, headers=admin)
        assert r.status_code == 422 and "temperature" in r.json()["error"]["message"]
        viewer = await stack.user_headers(tenant_id, "viewer")
        assert (await stack.http.get("/api/v1/settings/ai", headers=viewer)).status_code == 403
        assert (await stack.http.get("/api/v1/settings/ai/versions/99", headers=admin)).status_code == 404

"""`/api/tools`, `/api/skills`, `/info`."""

from __future__ import annotations

from tests.support.live import LiveServer


def test_tools_and_info(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        tools = c.get("/api/tools").json()
        info = c.get("/info").json()
    calc = next(t for t in tools if t["id"] == "calculator")
    assert set(calc) == {"id", "name", "description", "category", "icon"}
    assert info["name"] == "agentloom" and info["protocol"] == "AG-UI"
    assert info["mode"] == "react" and "POST /ag-ui" in info["endpoints"]


def test_skills_crud(server: LiveServer) -> None:
    user, other = server.register(), server.register()
    with server.client(user["token"]) as c, server.client(other["token"]) as o:
        listed = c.get("/api/skills").json()
        assert {s["id"] for s in listed["builtin"]} >= {"math_tutor", "researcher"}
        assert listed["custom"] == [] and all(s["isBuiltin"] for s in listed["builtin"])
        r = c.post("/api/skills", json={"name": "Bad", "tools": ["nope"]})
        assert r.status_code == 422 and "tools" in r.json()["message"]
        r = c.post(
            "/api/skills",
            json={"name": "Mine", "instructions": "Be brief.", "tools": ["calculator"]},
        )
        assert r.status_code == 201, r.text
        skill = r.json()
        assert skill["isBuiltin"] is False and skill["tools"] == ["calculator"]
        r = c.put(f"/api/skills/{skill['id']}", json={"description": "short"})
        assert r.status_code == 200 and r.json()["description"] == "short"
        assert o.put(f"/api/skills/{skill['id']}", json={"name": "x"}).status_code == 404
        assert o.delete(f"/api/skills/{skill['id']}").status_code == 404
        assert o.get("/api/skills").json()["custom"] == []
        assert c.get("/api/skills").json()["custom"][0]["id"] == skill["id"]
        deleted = c.delete(f"/api/skills/{skill['id']}")
        assert deleted.status_code == 200 and deleted.json() == {"success": True}
        assert c.delete("/api/skills/math_tutor").status_code == 404
    with server.client() as anon:
        assert anon.get("/api/skills").status_code == 401

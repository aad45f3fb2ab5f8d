"""Seed 000 `/api/v1/workflows`, end to end over HTTP, with its error paths."""

from __future__ import annotations

import httpx

from tests.support.live import LiveServer

SEED_EXAMPLE = {
    "name": "文本处理工作流",
    "description": "处理用户输入的文本",
    "nodes": [
        {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {"label": "开始"}},
        {
            "id": "llm-1",
            "type": "llm",
            "position": {"x": 200, "y": 0},
            "data": {
                "label": "LLM处理",
                "provider": "deepseek",
                "model": "deepseek-chat",
                "prompt": "请总结以下文本:{input}",
            },
        },
        {"id": "end-1", "type": "end", "position": {"x": 400, "y": 0}, "data": {"label": "结束"}},
    ],
    "edges": [
        {"id": "e1", "source": "start-1", "target": "llm-1"},
        {"id": "e2", "source": "llm-1", "target": "end-1"},
    ],
}


def _create(c: httpx.Client, **overrides: object) -> dict:
    r = c.post("/api/v1/workflows", json={**SEED_EXAMPLE, **overrides})
    assert r.status_code == 201, r.text
    return r.json()


def test_create_get_update_delete(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = _create(c)
        assert wf["name"] == "文本处理工作流" and wf["version"] == 1 and wf["status"] == "draft"
        assert wf["nodes"] == SEED_EXAMPLE["nodes"] and wf["edges"] == SEED_EXAMPLE["edges"]
        assert {
            "id",
            "name",
            "description",
            "nodes",
            "edges",
            "version",
            "status",
            "created_at",
        } <= set(wf)

        assert c.get(f"/api/v1/workflows/{wf['id']}").json() == wf

        r = c.put(f"/api/v1/workflows/{wf['id']}", json={"name": "更新后的名称"})
        assert r.status_code == 200
        updated = r.json()
        assert updated["name"] == "更新后的名称" and updated["version"] == 2
        assert updated["nodes"] == SEED_EXAMPLE["nodes"]  # untouched fields keep their value

        r = c.delete(f"/api/v1/workflows/{wf['id']}")
        assert r.status_code == 200 and r.json() == {"message": "工作流已删除"}
        r = c.get(f"/api/v1/workflows/{wf['id']}")
        assert r.status_code == 404
        assert r.json() == {
            "detail": f"Workflow {wf['id']} not found",
            "error_code": "NOT_FOUND",
            "status_code": 404,
        }


def test_list_search_filter_sort_page(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        for name, description in [
            ("Alpha report", "weekly numbers"),
            ("beta 翻译", "中文 翻译 流程"),
            ("Gamma", "summarise REPORTS"),
        ]:
            _create(c, name=name, description=description)
        names = [
            w["name"]
            for w in c.get(
                "/api/v1/workflows", params={"sort_by": "name", "sort_order": "asc"}
            ).json()
        ]
        assert names == ["Alpha report", "Gamma", "beta 翻译"]
        found = c.get("/api/v1/workflows", params={"search": "report"}).json()
        assert sorted(w["name"] for w in found) == ["Alpha report", "Gamma"]
        assert [
            w["name"] for w in c.get("/api/v1/workflows", params={"search": "翻译"}).json()
        ] == ["beta 翻译"]
        assert (
            c.get("/api/v1/workflows", params={"search": "a.*"}).json() == []
        )  # literal, not regex
        page = c.get(
            "/api/v1/workflows",
            params={"sort_by": "name", "sort_order": "asc", "skip": 1, "limit": 1},
        ).json()
        assert [w["name"] for w in page] == ["Gamma"]
        assert c.get("/api/v1/workflows", params={"status": "published"}).json() == []
        assert len(c.get("/api/v1/workflows", params={"status": "draft"}).json()) == 3
        for params, field in [
            ({"limit": 101}, "limit"),
            ({"limit": 0}, "limit"),
            ({"skip": -1}, "skip"),
            ({"status": "bogus"}, "status"),
            ({"sort_by": "password"}, "sort_by"),
            ({"sort_order": "sideways"}, "sort_order"),
        ]:
            r = c.get("/api/v1/workflows", params=params)
            assert r.status_code == 422, params
            assert field in r.json()["detail"] and r.json()["error_code"] == "VALIDATION_ERROR"


def test_other_users_workflow_answers_like_missing(server: LiveServer) -> None:
    owner = server.register()
    other = server.register()
    with server.client(owner["token"]) as c:
        wf = _create(c)
    with server.client(other["token"]) as c:
        missing = c.get("/api/v1/workflows/00000000-0000-0000-0000-000000000000")
        for method, path, body in [
            ("GET", f"/api/v1/workflows/{wf['id']}", None),
            ("PUT", f"/api/v1/workflows/{wf['id']}", {"name": "stolen"}),
            ("DELETE", f"/api/v1/workflows/{wf['id']}", None),
            ("GET", f"/api/v1/workflows/{wf['id']}/export", None),
            ("GET", f"/api/v1/workflows/{wf['id']}/versions", None),
            ("GET", f"/api/v1/workflows/{wf['id']}/versions/1", None),
            ("POST", f"/api/v1/workflows/{wf['id']}/versions/1/rollback", {"comment": "x"}),
        ]:
            r = c.request(method, path, json=body)
            assert r.status_code == 404, (method, path)
            assert r.json()["error_code"] == missing.json()["error_code"] == "NOT_FOUND"
        assert c.get("/api/v1/workflows").json() == []
    with server.client(owner["token"]) as c:
        assert c.get(f"/api/v1/workflows/{wf['id']}").json()["name"] == SEED_EXAMPLE["name"]


def test_invalid_input_is_422_naming_the_field_and_writes_nothing(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        cases = [
            ({"description": "no name"}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x", "nodes": "not-a-list"}, "nodes"),
            ({"name": "x", "nodes": [{"type": "start"}]}, "nodes[0].id"),
            (
                {"name": "x", "nodes": [{"id": "a", "type": "start"}, {"id": "a", "type": "end"}]},
                "nodes[1].id",
            ),
        ]
        for body, field in cases:
            r = c.post("/api/v1/workflows", json=body)
            assert r.status_code == 422, body
            assert field in r.json()["detail"], (field, r.json())
        assert c.get("/api/v1/workflows").json() == []
        wf = _create(c)
        r = c.put(f"/api/v1/workflows/{wf['id']}", json={"nodes": [{"id": 1}]})
        assert r.status_code == 422
        after = c.get(f"/api/v1/workflows/{wf['id']}").json()
        assert after["version"] == 1 and after["nodes"] == SEED_EXAMPLE["nodes"]
        assert len(c.get(f"/api/v1/workflows/{wf['id']}/versions").json()) == 1


def test_validate(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post("/api/v1/workflows/validate", json=SEED_EXAMPLE)
        assert r.status_code == 200
        assert r.json() == {"valid": True, "errors": [], "warnings": []}
        broken = {
            "name": "broken",
            "nodes": [
                {"id": "start-1", "type": "start", "data": {}},
                {"id": "mystery-1", "type": "teleport", "data": {}},
                {"id": "llm-1", "type": "llm", "data": {"provider": "openai", "model": "m"}},
                {"id": "cond-1", "type": "condition", "data": {"expression": "{value} >"}},
                {"id": "orphan", "type": "transform", "data": {"mapping": {"a": "{input}"}}},
            ],
            "edges": [
                {"id": "e1", "source": "start-1", "target": "llm-1"},
                {"id": "e2", "source": "llm-1", "target": "cond-1"},
                {"id": "e3", "source": "cond-1", "target": "llm-1", "sourceHandle": "true"},
                {"id": "e4", "source": "llm-1", "target": "ghost"},
            ],
        }
        report = c.post("/api/v1/workflows/validate", json=broken).json()
        assert report["valid"] is False
        text = " ".join(report["errors"]).lower()
        for expected in ("teleport", "end", "ghost", "cycle", "prompt", "cond-1"):
            assert expected in text, (expected, report)
        assert any("orphan" in w for w in report["warnings"]), report


def test_templates_and_create_from_template(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        templates = c.get("/api/v1/workflows/templates").json()
        assert len(templates) >= 5
        assert all(t["builtin"] for t in templates)
        for t in templates:
            report = c.post(
                "/api/v1/workflows/validate", json={"nodes": t["nodes"], "edges": t["edges"]}
            ).json()
            assert report["valid"], (t["id"], report)
        first = templates[0]
        r = c.post(
            f"/api/v1/workflows/templates/{first['id']}/create",
            params={"name": "我的摘要", "description": "from a template"},
        )
        assert r.status_code == 201
        wf = r.json()
        assert wf["name"] == "我的摘要" and wf["nodes"] == first["nodes"]
        assert c.post("/api/v1/workflows/templates/tpl-nope/create").status_code == 404


def test_export_import(server: LiveServer) -> None:
    user = server.register()
    other = server.register()
    with server.client(user["token"]) as c:
        wf = _create(c)
        exported = c.get(f"/api/v1/workflows/{wf['id']}/export").json()
        assert set(exported) == {"workflow", "exported_at"}
        assert exported["workflow"]["nodes"] == SEED_EXAMPLE["nodes"]
    with server.client(other["token"]) as c:
        r = c.post("/api/v1/workflows/import", json=exported)
        assert r.status_code == 201
        imported = r.json()
        assert imported["id"] != wf["id"] and imported["version"] == 1
        assert imported["nodes"] == SEED_EXAMPLE["nodes"]
        assert [w["id"] for w in c.get("/api/v1/workflows").json()] == [imported["id"]]
        for bad, field in [
            ({}, "workflow"),
            ({"workflow": "nope"}, "workflow"),
            ({"workflow": {"nodes": []}}, "workflow.name"),
            ({"workflow": {"name": "x", "edges": [{"source": 1}]}}, "workflow.edges"),
        ]:
            r = c.post("/api/v1/workflows/import", json=bad)
            assert r.status_code == 422, bad
            assert field in r.json()["detail"], (field, r.json())
        assert len(c.get("/api/v1/workflows").json()) == 1


def test_versions_and_rollback(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = _create(c)
        c.put(
            f"/api/v1/workflows/{wf['id']}",
            json={"name": "v2", "nodes": SEED_EXAMPLE["nodes"][:1], "edges": []},
        )
        versions = c.get(f"/api/v1/workflows/{wf['id']}/versions").json()
        assert [v["version"] for v in versions] == [2, 1]
        v1 = c.get(f"/api/v1/workflows/{wf['id']}/versions/1").json()
        assert v1["name"] == SEED_EXAMPLE["name"] and len(v1["nodes"]) == 3
        r = c.post(
            f"/api/v1/workflows/{wf['id']}/versions/1/rollback", json={"comment": "回滚原因"}
        )
        assert r.status_code == 200
        rolled = r.json()
        assert rolled["version"] == 3 and rolled["name"] == SEED_EXAMPLE["name"]
        assert rolled["nodes"] == SEED_EXAMPLE["nodes"]
        v3 = c.get(f"/api/v1/workflows/{wf['id']}/versions/3").json()
        assert v3["comment"] == "回滚原因"
        assert c.get(f"/api/v1/workflows/{wf['id']}/versions/9").status_code == 404
        assert (
            c.post(f"/api/v1/workflows/{wf['id']}/versions/9/rollback", json={}).status_code == 404
        )


def test_openapi_docs_and_redoc(server: LiveServer) -> None:
    with server.client() as c:
        spec = c.get("/openapi.json").json()
        assert (
            "/api/v1/workflows" in spec["paths"]
            and "/api/workflows/{workflow_id}/publish" in spec["paths"]
        )
        assert c.get("/docs").status_code == 200
        assert c.get("/redoc").status_code == 200

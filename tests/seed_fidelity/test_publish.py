"""Publishing is one notion on both REST dialects: `status` and `isPublished` move together.

`PUT /api/v1/workflows/{id}` with `status: "published"` (seed 000) and
`PATCH /api/workflows/{id}/publish` with `isPublished: true` (seed 003) each
set both; unpublishing either way puts both back to draft.
"""

from __future__ import annotations

import httpx

from tests.runs.helpers import chain, create_workflow, node
from tests.support.live import LiveServer


def _state(c: httpx.Client, workflow_id: str) -> tuple[str, bool, bool]:
    """(v1 status, v1 is_published, seed 003 isPublished)."""
    v1 = c.get(f"/api/v1/workflows/{workflow_id}").json()
    api = c.get(f"/api/workflows/{workflow_id}").json()
    return v1["status"], v1["is_published"], api["isPublished"]


def _workflow(c: httpx.Client) -> str:
    nodes = [node("start-1", "start"), node("end-1", "end")]
    return create_workflow(c, nodes, chain(*nodes))


def test_put_status_published_sets_is_published_and_back(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = _workflow(c)
        assert _state(c, wf) == ("draft", False, False)
        r = c.put(f"/api/v1/workflows/{wf}", json={"status": "published"})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["is_published"]) == ("published", True)
        assert _state(c, wf) == ("published", True, True)
        listed = c.get("/api/v1/workflows", params={"status": "published"}).json()
        assert [w["id"] for w in listed] == [wf]
        r = c.put(f"/api/v1/workflows/{wf}", json={"status": "draft"})
        assert r.status_code == 200, r.text
        assert _state(c, wf) == ("draft", False, False)
        # Another status is not published either.
        c.put(f"/api/v1/workflows/{wf}", json={"status": "published"})
        c.put(f"/api/v1/workflows/{wf}", json={"status": "stopped"})
        assert _state(c, wf) == ("stopped", False, False)


def test_patch_publish_sets_status_and_back(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = _workflow(c)
        r = c.patch(f"/api/workflows/{wf}/publish", json={"isPublished": True})
        assert r.status_code == 200, r.text
        assert r.json()["isPublished"] is True
        assert _state(c, wf) == ("published", True, True)
        r = c.patch(f"/api/workflows/{wf}/publish", json={"isPublished": False})
        assert r.status_code == 200, r.text
        assert _state(c, wf) == ("draft", False, False)
        # Mixed: publish by PUT, unpublish by PATCH, and the other way round.
        c.put(f"/api/v1/workflows/{wf}", json={"status": "published"})
        c.patch(f"/api/workflows/{wf}/publish", json={"isPublished": False})
        assert _state(c, wf) == ("draft", False, False)
        c.patch(f"/api/workflows/{wf}/publish", json={"isPublished": True})
        c.put(f"/api/v1/workflows/{wf}", json={"status": "draft"})
        assert _state(c, wf) == ("draft", False, False)

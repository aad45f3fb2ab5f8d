"""Apps built in one process share their REST mounts (rest_compat.mounting), not their data.

The two servers run one after the other: beanie binds its document classes to one
database client per process, so two app servers cannot run side by side in one process
(the product runs one per process).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.live import LiveServer


def test_apps_built_in_one_process_share_routes_and_answer_from_their_own_databases(
    server_factory: Callable[..., LiveServer],
) -> None:
    first = server_factory(database="shared_mounts_a")
    user = first.register("mounted")
    with first.client(user["token"]) as c:
        made = c.post("/api/v1/workflows", json={"name": "only-in-a", "nodes": [], "edges": []})
        assert made.status_code == 201, made.text
        assert [w["name"] for w in c.get("/api/v1/workflows").json()] == ["only-in-a"]
    first.stop()

    second = server_factory(database="shared_mounts_b", secret_key="b" * 40)
    # The same route objects serve both apps...
    shared = [r for r in first.app.router.routes if r in second.app.router.routes]
    assert len(shared) >= 2
    # ...and each request reaches its own app's services: B has neither the user nor the
    # workflow, and its routes (auth dependency included) use B's signing key.
    with second.client(user["token"]) as c:
        assert c.get("/api/v1/workflows").status_code == 401
    with second.client() as c:
        login = c.post(
            "/api/v1/auth/login", data={"username": "mounted", "password": user["password"]}
        )
        assert login.status_code == 401, login.text
    other = second.register("mounted")
    with second.client(other["token"]) as c:
        assert c.get("/api/v1/workflows").json() == []
        gone = c.get(f"/api/v1/workflows/{made.json()['id']}")
        assert gone.status_code == 404, gone.text

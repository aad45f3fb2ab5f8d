"""Issue 11 item 14: the seed WebSocket's bad token, introspection depth, TRACE."""

from __future__ import annotations

import httpx
import pytest
from graphql import get_introspection_query
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.live import TLS, LiveServer


def test_seed_websocket_accepts_then_closes_1008_for_a_bad_token(server: LiveServer) -> None:
    # The document's clients expect an accepted socket closed with 1008, not an HTTP 403.
    for query in ("?token=not-a-token", "?token=acl_unknown", ""):
        with connect(f"{server.ws_url}/api/v1/ws/executions/anything{query}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def _graphql(server: LiveServer, token: str, query: str) -> dict:
    with server.client(token) as c:
        r = c.post("/graphql", json={"query": query})
        assert r.status_code == 200, r.text
        return dict(r.json())


def test_introspection_counts_toward_the_depth_limit(server: LiveServer) -> None:
    token = server.register()["token"]
    # GraphiQL's own introspection query (graphql-js 16's, which graphql-core mirrors).
    graphiql = get_introspection_query(
        descriptions=True, input_value_deprecation=True, schema_description=True
    )
    answer = _graphql(server, token, graphiql)
    assert "errors" not in answer and answer["data"]["__schema"]["types"]
    # Deeper than that through introspection fields alone: refused, like any deep query.
    of_type = "ofType { " * 20 + "name" + " }" * 20
    deep = f"{{ __schema {{ types {{ fields {{ type {{ {of_type} }} }} }} }} }}"
    answer = _graphql(server, token, deep)
    assert "exceeds maximum operation depth of 15" in answer["errors"][0]["message"]
    of_type = "ofType { " * 20 + "name" + " }" * 20
    answer = _graphql(server, token, f'{{ __type(name: "Query") {{ {of_type} }} }}')
    assert "exceeds maximum operation depth" in answer["errors"][0]["message"]
    # Ordinary fields keep their limit of 10, reached through __typename-free nesting.
    nested = "{ workflows { nodes { versions { nodes { version } } } } }"
    assert "errors" not in _graphql(server, token, nested)


@pytest.mark.parametrize("path", ["/api/v1/workflows", "/api/workflows", "/graphql", "/healthz"])
def test_trace_is_405_with_allow(server: LiveServer, path: str) -> None:
    with httpx.Client(base_url=server.base_url, verify=TLS) as c:
        r = c.request("TRACE", path)
        assert r.status_code == 405, r.text
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert "TRACE" not in allowed and "GET" in allowed, r.headers

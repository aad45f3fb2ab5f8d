"""schemathesis over the live server (issue 11, items 9 and 14).

Two runs of the pinned `st` CLI against a live server with a signed-in user and real
objects (their ids fed to every path parameter, so operations reach their objects
instead of answering 404):

- OpenAPI: every operation of `/openapi.json`, examples, coverage (boundary and
  invalid values) and fuzzing phases, with a bounded number of examples each;
  fails on any 5xx, on a status code the document does not list, on a body that
  does not match the documented schema or media type;
- GraphQL: every root field of `/graphql`, generated queries and mutations; fails on
  any 5xx.

Either way the server must log no unexpected error (a GraphQL resolver's crash is
masked as INTERNAL_SERVER_ERROR in an HTTP 200, so the log is where it shows).
`README.md` (Security) quotes the figures this test prints.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.helpers import chain, node
from tests.support.live import LiveServer

ST = str(Path(sys.executable).with_name("st"))
ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.hardening.schemathesis_hooks"
"""The GraphQL run's check (`no_server_failure`), imported by `st` from the repository root."""
OPENAPI_EXAMPLES = 3
GRAPHQL_EXAMPLES = 5
OPENAPI_CHECKS = (
    "not_a_server_error,status_code_conformance,response_schema_conformance,"
    "content_type_conformance"
)


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    with caplog.at_level(logging.ERROR):
        yield
    found = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not found, found[:5]


def _objects(server: LiveServer, token: str) -> dict[str, Any]:
    """One of everything the path parameters name, owned by the test's user."""
    nodes = [node("start-1", "start"), node("end-1", "end")]
    with server.client(token) as c:
        workflow = c.post(
            "/api/v1/workflows", json={"name": "w", "nodes": nodes, "edges": chain(*nodes)}
        ).json()
        run = c.post(f"/api/v1/workflows/{workflow['id']}/execute", json={"input_data": {}})
        source = c.post(
            "/api/v1/data-sources",
            json={
                "name": "s",
                "type": "postgresql",
                "config": {
                    "host": "127.0.0.1",
                    "port": 1,
                    "database": "d",
                    "username": "u",
                    "password": "p",
                },
            },
        )
        template = c.post("/api/templates", json={"name": "t", "workflowJson": "{}"})
        credential = c.post("/api/credentials", json={"provider": "openai", "name": "c"})
        key = c.post("/api/keys", json={"name": "k"})
        skill = c.post("/api/skills", json={"name": "s", "instructions": "be brief"})
        knowledge = c.post("/api/knowledge-bases", json={"name": "kb"})
        made = [run, source, template, credential, key, skill, knowledge]
        assert all(r.status_code == 201 for r in made), [r.text for r in made]
    return {
        "path.workflow_id": workflow["id"],
        "path.execution_id": run.json()["id"],
        "path.data_source_id": source.json()["id"],
        "path.template_id": template.json()["id"],
        "path.credential_id": credential.json()["id"],
        "path.key_id": key.json()["id"],
        "path.skill_id": skill.json()["id"],
        "path.kb_id": knowledge.json()["id"],
        "path.run_id": run.json()["id"],
        "path.version": 1,
    }


def _config(path: Path, parameters: dict[str, Any]) -> Path:
    lines = [f'hooks = "{HOOKS}"', "", "[parameters]"]
    for key, value in parameters.items():
        lines.append(f'"{key}" = {value if isinstance(value, int) else repr(str(value))}')
    path.write_text("\n".join(lines) + "\n")
    return path


def _st(config: Path | None, *args: str) -> subprocess.Popen[str]:
    command = [ST, *(["--config-file", str(config)] if config else []), "run", *args]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )


def _finished(run: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = run.communicate(timeout=150)
    return run.returncode, output


def _failures(output: str) -> str:
    """The failures section of st's report (each with its curl to reproduce)."""
    start = output.find("FAILURES")
    end = output.find("SUMMARY")
    return output[start:end][:12000] if start != -1 else output[-4000:]


def _generated(output: str) -> int:
    found = re.search(r"(\d+) generated", output)
    assert found, output[-2000:]
    return int(found.group(1))


@pytest.mark.timeout(180)
def test_schemathesis_openapi_and_graphql(
    server_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Outside calls (discovery, HTTP tool tests) end quickly: nothing listens there.
    server = server_factory(discovery_timeout_seconds=2)
    user = server.register()
    auth = f"Authorization: Bearer {user['token']}"
    config = _config(tmp_path / "schemathesis.toml", _objects(server, user["token"]))
    common = ["--no-color", "--workers", "2", "--request-timeout", "20", "--seed", "1",
              "--continue-on-failure", "--generation-database", "none"]  # fmt: skip
    # The two runs at once (each a CPU-bound client): half the wall time of one after the other.
    openapi_run = _st(
        config, f"{server.base_url}/openapi.json", "-H", auth, *common,
        "--checks", OPENAPI_CHECKS, "--max-examples", str(OPENAPI_EXAMPLES),
        "--phases", "examples,coverage,fuzzing",
    )  # fmt: skip
    graphql_run = _st(
        config, f"{server.base_url}/graphql", "-H", auth, *common,
        "--checks", "no_server_failure", "--max-examples", str(GRAPHQL_EXAMPLES),
    )  # fmt: skip
    try:
        openapi_code, openapi = _finished(openapi_run)
        graphql_code, graphql = _finished(graphql_run)
    finally:
        for run in (openapi_run, graphql_run):
            run.kill()
    assert openapi_code == 0, _failures(openapi)
    assert graphql_code == 0, _failures(graphql)
    with capsys.disabled():
        print(f"\nschemathesis: OpenAPI {_generated(openapi)} cases, GraphQL "
              f"{_generated(graphql)} cases, 0 server errors")  # fmt: skip

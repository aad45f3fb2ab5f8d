"""The console in a real headless Chromium that can reach nothing but this machine.

Each test signs in the way a person would, drives the page with clicks, typing and keys,
and waits on what the page shows (node states, the output panel, the seqs it rendered),
with the scripted LLM server answering the LLM nodes.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.support.chromium import Page
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, calculator_rule

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
"""Where the finished run's screenshot goes by default (gitignored): a CI run keeps it."""
SCREENSHOT_DIR = Path(os.environ.get("AGENTLOOM_SCREENSHOT_DIR") or ARTIFACTS)
"""`AGENTLOOM_SCREENSHOT_DIR=docs` writes the README's `docs/console.png` instead."""
DURATION = re.compile(r"took (\d+ ms|\d+\.\d s|\d+ min \d\d s)")
"""How the run view writes an ended run's duration: a number and its unit."""


# -- helpers ---------------------------------------------------------------------------------


def gql(c: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    answer = c.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in answer, answer
    return dict(answer["data"])


def create_workflow(server: LiveServer, token: str, graph: dict[str, Any]) -> str:
    with server.client(token) as c:
        created = c.post("/api/v1/workflows", json=graph)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


def event_count(server: LiveServer, token: str, execution_id: str) -> int:
    with server.client(token) as c:
        data = gql(
            c,
            "query($id: ID!) { execution(id: $id) { status events(first: 1) { totalCount } } }",
            id=execution_id,
        )
    return int(data["execution"]["events"]["totalCount"])


def sign_in(page: Page, server: LiveServer, user: dict[str, Any]) -> None:
    page.goto(server.base_url + "/console")
    page.wait_for("document.querySelector('#signin-username')", what="the sign-in form")
    page.type_into("#signin-username", user["username"])
    page.type_into("#signin-password", user["password"])
    page.click("#signin-password-form button[type=submit]")
    page.wait_for(
        f"document.querySelector('#who-name')?.textContent === {json.dumps(user['username'])}",
        what="the signed-in name",
    )


def open_workflow(page: Page, workflow_id: str, nodes: int) -> None:
    link = f"a[data-workflow-id='{workflow_id}']"
    page.wait_for(f"document.querySelector({json.dumps(link)})", what="the workflow in the list")
    page.click(link)
    page.wait_for(
        f"document.querySelectorAll('#workflow-graph .node').length === {nodes}",
        what=f"a diagram of {nodes} nodes",
    )


def set_json_input(page: Page, value: dict[str, Any]) -> None:
    page.evaluate("document.querySelector('#run-json').value = ''")
    page.type_into("#run-json", json.dumps(value, ensure_ascii=False))


def start_run(page: Page) -> str:
    page.click("#run-start")
    page.wait_for("location.hash.startsWith('#/runs/')", what="the run view")
    page.wait_for("document.querySelector('#run[data-status]')", what="the run's state")
    return str(page.evaluate("location.hash.slice('#/runs/'.length)"))


def wait_status(page: Page, status: str, timeout: float = 20) -> None:
    page.wait_for(
        f"document.querySelector('#run')?.dataset.status === {json.dumps(status)}",
        timeout=timeout,
        what=f"the run {status}",
    )


def node_states(page: Page) -> dict[str, str]:
    return dict(
        page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#run .node')]"
            ".map(n => [n.dataset.nodeId, n.dataset.state]))"
        )
    )


def node_texts(page: Page) -> dict[str, str]:
    return dict(
        page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#run .node')]"
            ".map(n => [n.dataset.nodeId, n.querySelector('.state').textContent]))"
        )
    )


def assert_duration_shown(page: Page) -> str:
    """The ended run's duration, as the run bar shows it: a number with a unit."""
    shown = str(page.evaluate("document.querySelector('#run-duration').textContent"))
    assert DURATION.fullmatch(shown), f"the duration reads {shown!r}"
    return shown


def rendered_seqs(page: Page) -> list[int]:
    raw = page.evaluate("document.querySelector('#run').dataset.seqs || ''")
    return [int(x) for x in str(raw).split(",") if x]


def press(page: Page, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
    """A real key press (keyDown + keyUp) on the focused element."""
    for kind in ("keyDown", "keyUp"):
        page.send(
            "Input.dispatchKeyEvent",
            {
                "type": kind,
                "key": key,
                "code": code,
                "windowsVirtualKeyCode": key_code,
                "modifiers": modifiers,
            },
        )


def select_node(page: Page, node_id: str) -> None:
    """Focus a node of the run's diagram and press Enter, as a keyboard user would."""
    selector = f"#run .node[data-node-id='{node_id}']"
    focused = page.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus();"
        " return document.activeElement === e; })()"
    )
    assert focused, f"cannot focus {selector}"
    press(page, "Enter", "Enter", 13)


def reload(page: Page, timeout: float = 20) -> None:
    page.loaded = False
    page.send("Page.reload")
    page.browser.pump_until(lambda: page.loaded, timeout, "the reloaded page")


def subscribe_frames(page: Page, operation: str) -> list[dict[str, Any]]:
    frames = [json.loads(f) for f in page.ws_sent if f.startswith("{")]
    return [
        f for f in frames if f.get("type") == "subscribe" and operation in f["payload"]["query"]
    ]


def assert_offline_and_clean(page: Page, server: LiveServer) -> None:
    assert page.off_origin(server.base_url) == [], "requests left the server"
    assert page.errors == [], "the page reported errors"


# -- tests -----------------------------------------------------------------------------------


def test_sign_in_and_run_the_seed_example_live(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    # Slow enough that the page is seen streaming, not only finished.
    openai_server.token_delay_s = 0.25
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    labels = page.evaluate(
        "[...document.querySelectorAll('#workflow-graph .node .label')].map(e => e.textContent)"
    )
    assert labels == ["开始", "LLM处理", "结束"]
    kinds = page.evaluate(
        "[...document.querySelectorAll('#workflow-graph .node')].map(e => e.dataset.kind)"
    )
    assert kinds == ["start", "llm", "end"]
    assert page.evaluate("document.querySelectorAll('#workflow-graph .edge').length") == 2

    set_json_input(page, {"input": "长文本"})
    execution_id = start_run(page)
    # Mid-stream: the LLM node runs and its panel already holds part of the answer.
    page.wait_for(
        "document.querySelector('#run .node[data-node-id=\"llm-1\"]').dataset.state === 'running'"
        " && document.querySelector('#node-text')?.textContent.startsWith('Summary:')",
        what="streamed tokens in the LLM node's panel while it runs",
    )
    wait_status(page, "completed")
    assert node_states(page) == {"start-1": "finished", "llm-1": "finished", "end-1": "finished"}
    # The state is written out, not only coloured.
    assert set(node_texts(page).values()) == {"✓ finished"}
    output = page.evaluate("document.querySelector('#run-output').textContent")
    assert "Summary:" in output and "长文本" in output
    assert page.evaluate("document.querySelector('#run-status').textContent") == "✓ completed"
    assert page.evaluate("document.querySelector('#run-progress').value") == 100
    took = assert_duration_shown(page)

    total = event_count(llm_server, user["token"], execution_id)
    assert rendered_seqs(page) == list(range(1, total + 1))
    logged = page.evaluate(
        "[...document.querySelectorAll('#run-log li')].map(li => +li.dataset.seq)"
    )
    assert logged == sorted(set(logged)) and 1 in logged and total in logged

    # Keyboard: focus a node, press Enter, its panel opens (the LLM's with its full text).
    select_node(page, "start-1")
    page.wait_for(
        "document.querySelector('#node-panel h3')?.textContent === '开始'",
        what="the start node's panel",
    )
    select_node(page, "llm-1")
    text = page.wait_for(
        "document.querySelector('#node-panel h3')?.textContent === 'LLM处理'"
        " && document.querySelector('#node-text')?.textContent",
        what="the LLM node's panel",
    )
    assert text == openai_server.rule(openai_server.requests[-1])
    # 1280x800: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280

    # A past run, with nothing saved in the tab, opens from the recent runs and is replayed
    # from its log into the same view.
    page.evaluate("location.hash = '#/'")
    link = f"#recent-runs a[href='#/runs/{execution_id}']"
    page.wait_for(f"document.querySelector({json.dumps(link)})", what="the recent runs")
    page.evaluate(
        "Object.keys(sessionStorage).filter(k => k.startsWith('agentloom.console.run.'))"
        ".forEach(k => sessionStorage.removeItem(k))"
    )
    page.click(link)
    wait_status(page, "completed")
    assert page.evaluate("document.querySelector('#run').dataset.resumedFrom") == "0"
    assert rendered_seqs(page) == list(range(1, total + 1))
    assert node_states(page) == {"start-1": "finished", "llm-1": "finished", "end-1": "finished"}
    assert output == page.evaluate("document.querySelector('#run-output').textContent")
    # The replayed run took as long as the live one did (the run's own figure, not a clock).
    assert assert_duration_shown(page) == took
    assert_offline_and_clean(page, llm_server)


HUMAN_WORKFLOW = {
    "name": "Release gate",
    "nodes": [
        {"id": "start-1", "type": "start", "data": {"label": "Start"}},
        {
            "id": "human-1",
            "type": "human",
            "data": {"label": "Approve", "prompt": "Ship {input.item}?"},
        },
        {"id": "end-1", "type": "end", "data": {"label": "Done"}},
    ],
    "edges": [
        {"id": "e1", "source": "start-1", "target": "human-1"},
        {"id": "e2", "source": "human-1", "target": "end-1"},
    ],
}


def test_answer_a_human_node_in_the_page_signed_in_with_an_api_key(
    page: Page, server: LiveServer
) -> None:
    user = server.register()
    workflow_id = create_workflow(server, user["token"], HUMAN_WORKFLOW)
    with server.client(user["token"]) as c:
        key = gql(
            c,
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { rawKey } }",
            input={"name": "console"},
        )["createApiKey"]["rawKey"]
    page.goto(server.base_url + "/console")
    page.wait_for("document.querySelector('#signin-apikey')", what="the sign-in form")
    page.type_into("#signin-apikey", key)
    page.click("#signin-apikey-form button[type=submit]")
    page.wait_for("document.querySelector('#who-name')", what="signed in")
    assert page.evaluate("document.querySelector('#who').textContent").count("API key") == 1
    # The token stays in this tab's session storage only.
    assert (
        page.evaluate("JSON.parse(sessionStorage.getItem('agentloom.console.session')).token")
        == key
    )
    assert page.evaluate("localStorage.length") == 0

    open_workflow(page, workflow_id, nodes=3)
    set_json_input(page, {"item": "v2.1"})
    execution_id = start_run(page)
    form = "form.human-form[data-node-id='human-1']"
    page.wait_for(
        f"document.querySelector({json.dumps(form)})?.querySelector('.prompt').textContent"
        " === 'Ship v2.1?'",
        what="the human node's question",
    )
    assert node_texts(page)["human-1"] == "✎ waiting for input"
    page.type_into("#human-answer-human-1", "yes, ship it")
    press(page, "Enter", "Enter", 13, modifiers=2)  # Ctrl+Enter sends
    wait_status(page, "completed")
    assert node_states(page)["human-1"] == "finished"
    assert "yes, ship it" in page.evaluate("document.querySelector('#run-output').textContent")
    assert page.evaluate(f"document.querySelector({json.dumps(form)})") is None
    with server.client(user["token"]) as c:
        answered = gql(
            c,
            'query($id: ID!) { humanInputAnswered(executionId: $id, nodeId: "human-1") }',
            id=execution_id,
        )
    assert answered == {"humanInputAnswered": True}
    # Signing out forgets the key and every run the tab kept.
    page.click("#sign-out")
    page.wait_for("document.querySelector('#signin-apikey')", what="the sign-in form")
    assert page.evaluate("sessionStorage.length") == 0
    assert_offline_and_clean(page, server)


def long_answer(request: dict[str, Any]) -> str:
    return " ".join(f"word{i}" for i in range(40))


def test_reload_mid_run_resumes_from_the_last_seq_without_duplicates(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    openai_server.set_rule(long_answer)
    openai_server.token_delay_s = 0.08  # about 3 s of tokens
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    execution_id = start_run(page)
    page.wait_for(
        "document.querySelector('#run').dataset.status === 'running'"
        " && (document.querySelector('#run').dataset.seqs || '').split(',').length >= 12",
        what="a dozen events rendered",
    )
    before = rendered_seqs(page)
    reload(page)
    page.wait_for("document.querySelector('#run[data-resumed-from]')", what="the resumed view")
    resumed_from = int(page.evaluate("document.querySelector('#run').dataset.resumedFrom"))
    wait_status(page, "completed")

    after = rendered_seqs(page)
    total = event_count(llm_server, user["token"], execution_id)
    assert after == list(range(1, total + 1)), "a seq is missing or shown twice"
    assert after[: len(before)] == before
    assert page.evaluate("document.querySelector('#run').dataset.duplicates") == "0"
    # It resumed: the reloaded page asked only for what it had not rendered.
    assert len(before) <= resumed_from < total
    asked = [f["payload"]["variables"]["after"] for f in subscribe_frames(page, "ConsoleRunEvents")]
    assert asked[0] == 0 and asked[-1] == resumed_from
    select_node(page, "llm-1")
    text = page.wait_for(
        "document.querySelector('#node-text')?.textContent", what="the LLM node's text"
    )
    assert text == long_answer({})
    assert_offline_and_clean(page, llm_server)


SCREENSHOT_WORKFLOW = {
    "name": "Article draft",
    "description": "Drafts a short article when enough words are asked for",
    "nodes": [
        {"id": "start", "type": "start", "data": {"label": "Start"}},
        {
            "id": "ask",
            "type": "input",
            "data": {
                "label": "Topic",
                "fields": [
                    {"name": "topic", "type": "string", "required": True},
                    {"name": "words", "type": "integer", "default": 120},
                ],
            },
        },
        {
            "id": "long",
            "type": "condition",
            "data": {"label": "Long enough?", "expression": "{input.words} > 50"},
        },
        {
            "id": "draft",
            "type": "llm",
            "data": {
                "label": "Draft",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "prompt": "Write {input.words} words about {input.topic}",
            },
        },
        {
            "id": "note",
            "type": "transform",
            "data": {"label": "Too short", "mapping": {"text": "skipped"}},
        },
        {"id": "end", "type": "end", "data": {"label": "End"}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "ask"},
        {"id": "e2", "source": "ask", "target": "long"},
        {"id": "e3", "source": "long", "target": "draft", "sourceHandle": "true"},
        {"id": "e4", "source": "long", "target": "note", "sourceHandle": "false"},
        {"id": "e5", "source": "draft", "target": "end"},
        {"id": "e6", "source": "note", "target": "end"},
    ],
}


def test_form_from_the_input_node_branches_and_a_screenshot(
    page: Page, llm_server: LiveServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SCREENSHOT_WORKFLOW)
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=6)
    handles = page.evaluate(
        "[...document.querySelectorAll('#workflow-graph .edge .handle')].map(e => e.textContent)"
    )
    assert sorted(handles) == ["false", "true"]
    fields = page.evaluate(
        "[...document.querySelectorAll('#run-fields [data-field]')]"
        ".map(e => [e.dataset.field, e.type, e.required, e.value])"
    )
    assert fields == [["topic", "text", True, ""], ["words", "number", False, "120"]]
    # The required field is checked in the page first...
    page.click("#run-start")
    page.wait_for("document.querySelector('#run-error').textContent", what="the form's complaint")
    page.type_into("#input-field-0", "rivers")
    start_run(page)
    wait_status(page, "completed")
    assert node_states(page) == {
        "start": "finished",
        "ask": "finished",
        "long": "finished",
        "draft": "finished",
        "note": "skipped",
        "end": "finished",
    }
    assert node_texts(page)["note"] == "↷ skipped"
    assert "Write 120 words about rivers" in page.evaluate(
        "document.querySelector('#run-output').textContent"
    )
    assert_duration_shown(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    select_node(page, "draft")
    page.wait_for(
        "document.querySelector('#node-text')?.textContent.startsWith('Summary:')",
        what="the LLM node's text in its panel",
    )
    shot = base64.b64decode(page.send("Page.captureScreenshot", {"format": "png"})["data"])
    assert shot.startswith(b"\x89PNG") and len(shot) > 10_000
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    artifact = SCREENSHOT_DIR / "console.png"
    artifact.write_bytes(shot)
    assert artifact.read_bytes() == shot
    assert_offline_and_clean(page, llm_server)


LOOP_WORKFLOW = {
    "name": "Greet each",
    "nodes": [
        {"id": "start", "type": "start", "data": {"label": "Start"}},
        {
            "id": "each",
            "type": "loop",
            "data": {"label": "For each name", "items_path": "input.names"},
        },
        {
            "id": "greet",
            "type": "transform",
            "data": {"label": "Greet", "mapping": {"text": "Hello, {item}!"}},
        },
        {
            "id": "shout",
            "type": "transform",
            "data": {"label": "Shout", "mapping": {"text": "{greet.text}!!"}},
        },
        {
            "id": "results",
            "type": "output",
            "data": {"label": "Results", "key": "greetings", "value": "{each}"},
        },
        {"id": "end", "type": "end", "data": {"label": "End"}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "each"},
        {"id": "e2", "source": "each", "target": "greet", "sourceHandle": "body"},
        {"id": "e3", "source": "greet", "target": "shout"},
        # Back to the loop: the end of its body.
        {"id": "e4", "source": "shout", "target": "each"},
        {"id": "e5", "source": "each", "target": "results", "sourceHandle": "done"},
        {"id": "e6", "source": "results", "target": "end"},
    ],
}

EDGES = """[...document.querySelectorAll(%s)].map(e => [e.dataset.source, e.dataset.target,
  e.querySelector('.handle')?.textContent ?? null, e.classList.contains('back')])"""


def test_a_loops_body_and_done_edges_are_labelled(page: Page, server: LiveServer) -> None:
    user = server.register()
    workflow_id = create_workflow(server, user["token"], LOOP_WORKFLOW)
    sign_in(page, server, user)
    open_workflow(page, workflow_id, nodes=6)
    expected = [
        ["start", "each", None, False],
        ["each", "greet", "body", False],
        ["greet", "shout", None, False],
        ["shout", "each", None, True],  # drawn as a back edge, dashed
        ["each", "results", "done", False],
        ["results", "end", None, False],
    ]
    drawn = page.evaluate(EDGES % json.dumps("#workflow-graph .edge"))
    assert sorted(drawn, key=json.dumps) == sorted(expected, key=json.dumps)
    handles = page.evaluate(
        "[...document.querySelectorAll('#workflow-graph .edge .handle')].map(e => e.textContent)"
    )
    assert sorted(handles) == ["body", "done"]
    # Each label sits on its own edge's line, not on top of the other one.
    boxes = page.evaluate(
        "[...document.querySelectorAll('#workflow-graph .edge .handle-bg')].map(r => {"
        " const b = r.getBBox(); return [b.x, b.y, b.width, b.height]; })"
    )
    (ax, ay, aw, ah), (bx, by, bw, bh) = boxes
    assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, boxes

    set_json_input(page, {"names": ["Ada", "Grace"]})
    start_run(page)
    wait_status(page, "completed")
    # The live diagram labels the same edges, and every node ran.
    assert page.evaluate(EDGES % json.dumps("#run .edge")) == drawn
    assert set(node_states(page).values()) == {"finished"}
    output = json.loads(page.evaluate("document.querySelector('#run-output').textContent"))
    assert output == {"greetings": [{"text": "Hello, Ada!!!"}, {"text": "Hello, Grace!!!"}]}
    assert_duration_shown(page)
    assert_offline_and_clean(page, server)


def network(page: Page, *, offline: bool) -> None:
    page.send(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def test_network_loss_mid_run_resubscribes_from_the_last_seq(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    openai_server.set_rule(long_answer)
    openai_server.token_delay_s = 0.08
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    execution_id = start_run(page)
    page.wait_for(
        "(document.querySelector('#run').dataset.seqs || '').split(',').length >= 8",
        what="some events rendered",
    )
    network(page, offline=True)
    page.wait_for(
        "['offline', 'reconnecting'].includes(document.querySelector('#connection').dataset.state)",
        what="the page noticing the network is gone",
    )
    # What the server had stored by now may still reach the page (frames it received just
    # before the cut); nothing stored after may, until the network is back.
    stored_then = event_count(llm_server, user["token"], execution_id)
    page.browser.pump_until(
        lambda: event_count(llm_server, user["token"], execution_id) > stored_then + 5,
        20,
        "events the page has not seen",
    )
    during = rendered_seqs(page)
    assert during and during[-1] <= stored_then, ("events arrived while offline", stored_then)
    network(page, offline=False)
    wait_status(page, "completed")
    total = event_count(llm_server, user["token"], execution_id)
    assert rendered_seqs(page) == list(range(1, total + 1))
    assert page.evaluate("document.querySelector('#run').dataset.duplicates") == "0"
    asked = [f["payload"]["variables"]["after"] for f in subscribe_frames(page, "ConsoleRunEvents")]
    assert asked[0] == 0 and asked[-1] == len(during), asked
    assert page.evaluate("document.querySelector('#connection').dataset.state") in ("live", "idle")
    # A retry while the network was down may be logged by the browser; nothing else may.
    page.errors = [e for e in page.errors if "ERR_INTERNET_DISCONNECTED" not in e]
    assert_offline_and_clean(page, llm_server)


def test_cancel_a_running_run(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    openai_server.set_rule(long_answer)
    openai_server.token_delay_s = 0.2
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    start_run(page)
    page.wait_for(
        "document.querySelector('#node-text')?.textContent.startsWith('word0')",
        what="the LLM streaming",
    )
    assert page.evaluate("document.querySelector('#run-cancel').disabled") is False
    page.click("#run-cancel")
    wait_status(page, "cancelled")
    assert page.evaluate("document.querySelector('#run-status').textContent") == "■ cancelled"
    assert page.evaluate("document.querySelector('#run-output').textContent").startswith(
        "Cancelled"
    )
    assert page.evaluate("document.querySelector('#run-cancel').disabled") is True
    assert_duration_shown(page)
    assert_offline_and_clean(page, llm_server)


def test_workflow_list_search_paging_and_versions(page: Page, server: LiveServer) -> None:
    user = server.register()
    for i in range(13):
        create_workflow(server, user["token"], {**SEED_EXAMPLE, "name": f"Batch {i:02d}"})
    gated = create_workflow(server, user["token"], HUMAN_WORKFLOW)
    with server.client(user["token"]) as c:
        # Version 2 drops the human node.
        changed = c.put(
            f"/api/v1/workflows/{gated}",
            json={
                **HUMAN_WORKFLOW,
                "nodes": [HUMAN_WORKFLOW["nodes"][0], HUMAN_WORKFLOW["nodes"][2]],
                "edges": [{"id": "e1", "source": "start-1", "target": "end-1"}],
            },
        )
        assert changed.status_code == 200, changed.text
    sign_in(page, server, user)
    count = "document.querySelector('#workflow-count').textContent"
    page.wait_for(f"{count} === '1–12 of 14'", what="the first page")
    assert page.evaluate("document.querySelector('#workflow-prev').disabled") is True
    page.click("#workflow-next")
    page.wait_for(f"{count} === '13–14 of 14'", what="the second page")
    assert page.evaluate("document.querySelector('#workflow-next').disabled") is True
    page.click("#workflow-prev")
    page.wait_for(f"{count} === '1–12 of 14'", what="the first page again")
    page.type_into("#workflow-search", "release")
    page.wait_for(f"{count} === '1–1 of 1'", what="the search's one match")
    names = page.evaluate(
        "[...document.querySelectorAll('#workflow-list .wf-name')].map(e => e.textContent)"
    )
    assert names == ["Release gate"]

    open_workflow(page, gated, nodes=2)
    versions = page.evaluate(
        "[...document.querySelectorAll('#workflow-versions [data-version]')].map(e => +e.dataset.version)"
    )
    assert versions == [2, 1]
    page.click("#workflow-versions [data-version='1']")
    page.wait_for(
        "document.querySelectorAll('#workflow-graph .node').length === 3"
        " && document.querySelector('#graph-version').textContent.startsWith('Version 1 of 2')",
        what="version 1's graph",
    )
    page.click("#workflow-versions [data-version='2']")
    page.wait_for(
        "document.querySelectorAll('#workflow-graph .node').length === 2", what="the current graph"
    )
    assert_offline_and_clean(page, server)


AGENT_WORKFLOW = {
    "name": "Calculator agent",
    "nodes": [
        {"id": "start-1", "type": "start", "data": {}},
        {
            "id": "agent-1",
            "type": "agent",
            "data": {
                "label": "Solver",
                "provider": "deepseek",
                "prompt": "What is {input.q}?",
                "tools": ["calculator"],
                "max_steps": 4,
            },
        },
        {"id": "end-1", "type": "end", "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start-1", "target": "agent-1"},
        {"id": "e2", "source": "agent-1", "target": "end-1"},
    ],
}


def test_an_agents_tool_calls_show_in_its_panel(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], AGENT_WORKFLOW)
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    set_json_input(page, {"q": "12*7"})
    start_run(page)
    wait_status(page, "completed")
    select_node(page, "agent-1")
    page.wait_for("document.querySelector('#node-tools pre')", what="the agent's tool calls")
    calls = page.evaluate(
        "[...document.querySelectorAll('#node-tools li')]"
        ".map(li => [li.querySelector('code').textContent, li.querySelector('pre').textContent])"
    )
    assert calls == [
        ['calculator({"expression":"12*7"})', '{\n  "expression": "12*7",\n  "result": 84\n}']
    ]
    assert "The answer is 84." in page.evaluate("document.querySelector('#run-output').textContent")
    log = page.evaluate("document.querySelector('#run-log').textContent")
    assert "Tool call calculator" in log and "Tool calculator answered" in log
    assert_offline_and_clean(page, llm_server)


def test_retry_from_a_node_reuses_the_rest(
    page: Page, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    set_json_input(page, {"input": "again"})
    first = start_run(page)
    wait_status(page, "completed")
    asked = len(openai_server.requests)
    select_node(page, "llm-1")
    page.wait_for("document.querySelector('#run-retry')", what="the retry button")
    page.click("#run-retry")
    page.wait_for(
        f"location.hash.startsWith('#/runs/') && location.hash !== '#/runs/{first}'"
        f" && document.querySelector('#run-retry-of')",
        what="the new run's view",
    )
    wait_status(page, "completed")
    assert node_states(page) == {"start-1": "finished", "llm-1": "finished", "end-1": "finished"}
    assert page.evaluate("document.querySelector('#run-retry-of').getAttribute('href')") == (
        f"#/runs/{first}"
    )
    # Only the retried node asked the LLM again.
    assert len(openai_server.requests) == asked + 1
    assert "again" in page.evaluate("document.querySelector('#run-output').textContent")
    assert_offline_and_clean(page, llm_server)

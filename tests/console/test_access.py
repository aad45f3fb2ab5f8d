"""The console for keyboard users and for the eyes, in the same headless Chromium.

The keyboard test moves focus only with real key events (Tab, Enter) sent over the
DevTools protocol, never by script, and checks at every stop that the focus can be seen.
The contrast test computes WCAG 2 contrast ratios from the page's computed styles.
"""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.console.test_browser import (
    create_workflow,
    node_states,
    open_workflow,
    sign_in,
    start_run,
    wait_status,
)
from tests.support.chromium import Page
from tests.support.live import LiveServer

# key: (code, Windows virtual key code, the text it types). A key that types text is sent
# as `keyDown` with it, as Chromium's own input does: a button or a form acts on Enter
# only when the key press carries "\r", not on a bare keydown.
KEYS = {"Tab": ("Tab", 9, ""), "Enter": ("Enter", 13, "\r")}
SHIFT = 8

FOCUSED = """(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  return {tag: e.tagName.toLowerCase(), id: e.id || null,
          workflow: e.dataset.workflowId || null, node: e.dataset.nodeId || null,
          text: (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 40)};
})()"""

# How the focused element shows it has the focus: an outline of at least 2 px for HTML,
# the focus colour on its box for a node of the SVG diagram (which has no outline).
FOCUS_SHOWN = """(() => {
  const e = document.activeElement;
  const probe = document.createElement('span');
  probe.style.color = 'var(--focus)';  // CSSOM, which the page's CSP allows
  document.body.append(probe);
  const focus = getComputedStyle(probe).color;
  probe.remove();
  if (e instanceof SVGElement) {
    const stroke = getComputedStyle(e.querySelector('.box')).stroke;
    return stroke === focus ? 'ring' : `box stroke ${stroke}, not the focus colour ${focus}`;
  }
  const style = getComputedStyle(e);
  return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
    ? 'outline' : `outline ${style.outlineStyle} ${style.outlineWidth}`;
})()"""


def key(page: Page, name: str, *, shift: bool = False) -> None:
    """Press and release a key on whatever has the focus, as the keyboard would."""
    code, virtual, text = KEYS[name]
    common: dict[str, Any] = {
        "key": name,
        "code": code,
        "windowsVirtualKeyCode": virtual,
        "modifiers": SHIFT if shift else 0,
    }
    down = {"type": "keyDown", "text": text, "unmodifiedText": text} if text else {}
    page.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **common, **down})
    page.send("Input.dispatchKeyEvent", {"type": "keyUp", **common})


def focused(page: Page) -> dict[str, Any] | None:
    value = page.evaluate(FOCUSED)
    return dict(value) if value else None


def tab_to(page: Page, wanted: dict[str, str], *, limit: int = 15) -> list[dict[str, Any]]:
    """Press Tab until the focused element has every attribute in `wanted`; the stops on
    the way. Each stop must show its focus; the browser's own stop (`body`, between the
    document's last and first element) is passed over like a person would."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        key(page, "Tab")
        now = focused(page)
        if now is None:
            continue
        stops.append(now)
        shown = page.evaluate(FOCUS_SHOWN)
        assert shown in ("outline", "ring"), f"the focus on {now} cannot be seen: {shown}"
        if all(now.get(k) == v for k, v in wanted.items()):
            return stops
    raise AssertionError(f"{limit} Tabs never reached {wanted}; the stops: {stops}")


def test_keyboard_only_sign_in_open_run_and_inspect_a_node(
    page: Page, llm_server: LiveServer
) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    page.goto(llm_server.base_url + "/console")
    # The page puts the caret in the first field; from there on only keys move it.
    page.wait_for(
        "document.activeElement?.id === 'signin-username'", what="the focus in the username"
    )
    page.send("Input.insertText", {"text": user["username"]})
    key(page, "Tab")
    assert (focused(page) or {}).get("id") == "signin-password"
    page.send("Input.insertText", {"text": user["password"]})
    key(page, "Enter")
    page.wait_for(
        f"document.querySelector('#who-name')?.textContent === {json.dumps(user['username'])}"
        f" && document.querySelector('a[data-workflow-id={json.dumps(workflow_id)}]')",
        what="signed in, with the workflow listed",
    )

    stops = tab_to(page, {"workflow": workflow_id})
    # Through the sidebar's search box, as the page is laid out.
    assert [s["id"] for s in stops].index("workflow-search") < len(stops) - 1
    key(page, "Enter")
    page.wait_for(
        f"location.hash === '#/workflows/{workflow_id}'"
        " && document.querySelectorAll('#workflow-graph .node').length === 3",
        what="the workflow opened by Enter",
    )

    stops = tab_to(page, {"id": "run-start"})
    # The graph's nodes come before the form, each a stop of its own.
    assert [s["node"] for s in stops if s["node"]] == ["start-1", "llm-1", "end-1"]
    key(page, "Enter")
    page.wait_for("location.hash.startsWith('#/runs/')", what="the run started by Enter")
    wait_status(page, "completed")

    stops = tab_to(page, {"node": "llm-1"})
    assert stops[-1]["text"] == "llm node LLM处理: finished"
    key(page, "Enter")
    page.wait_for(
        "document.querySelector('#node-panel h3')?.textContent === 'LLM处理'"
        " && document.querySelector('#node-text')?.textContent.startsWith('Summary:')",
        what="the LLM node's panel opened by Enter",
    )
    selected = "document.querySelector('#run .node[data-node-id=\"llm-1\"]')"
    assert page.evaluate(f"{selected}.getAttribute('aria-pressed')") == "true"
    # The panel opened; the focus stayed on the node, so Tab goes on from there.
    assert (focused(page) or {}).get("node") == "llm-1"
    stops = tab_to(page, {"node": "end-1"})
    assert len(stops) == 1
    # Shift+Tab goes back the same way.
    key(page, "Tab", shift=True)
    assert (focused(page) or {}).get("node") == "llm-1"
    assert page.evaluate(FOCUS_SHOWN) == "ring"
    assert node_states(page) == {"start-1": "finished", "llm-1": "finished", "end-1": "finished"}
    assert page.errors == []


# WCAG 2 contrast, from computed colours. A background is composed from the element's
# ancestors (the first opaque one and any translucent ones above it) over white.
CONTRAST = """
const parse = (value) => {
  const m = /rgba?\\(([^)]*)\\)/.exec(value || '');
  if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
const luminance = (c) => {
  const [r, g, b] = c.slice(0, 3).map((v) => {
    v /= 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const ratio = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
};
const backdrop = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) {
      layers.push(c);
      if (c[3] === 1) break;
    }
  }
  return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
};
const css = (c) => `rgb(${c.slice(0, 3).map(Math.round).join(', ')})`;
// HTML text: its colour on what is behind it.
const html = (what, el) => {
  const bg = backdrop(el);
  const fg = over(parse(getComputedStyle(el).color), bg);
  return {what, text: el.textContent.trim().slice(0, 30), fg: css(fg), bg: css(bg), ratio: ratio(fg, bg)};
};
// SVG text in a diagram node: its fill on the node's box, on what is behind the diagram.
const svg = (what, text) => {
  const box = text.closest('.node').querySelector('.box');
  const bg = over(parse(getComputedStyle(box).fill), backdrop(text.closest('svg')));
  const fg = over(parse(getComputedStyle(text).fill), bg);
  return {what, text: text.textContent, fg: css(fg), bg: css(bg), ratio: ratio(fg, bg)};
};
"""

STATES = ["pending", "running", "waiting", "finished", "failed", "skipped"]
RUN_STATUSES = ["pending", "running", "completed", "failed", "cancelled"]


def test_text_contrast_of_every_state_and_the_main_text(page: Page, llm_server: LiveServer) -> None:
    user = llm_server.register()
    workflow_id = create_workflow(llm_server, user["token"], SEED_EXAMPLE)
    sign_in(page, llm_server, user)
    open_workflow(page, workflow_id, nodes=3)
    start_run(page)
    wait_status(page, "completed")
    page.wait_for("document.querySelector('#run-log li')", what="the log")

    # The run on the page: its nodes (finished), its status, the panel, the main text.
    measured = page.evaluate(
        "(() => {"
        + CONTRAST
        + """
const run = document.querySelector('#run');
const out = [...run.querySelectorAll('.diagram .node')].flatMap((node) =>
  [...node.querySelectorAll('text')].map((t) => svg(`run node ${node.dataset.state} ${t.getAttribute('class')}`, t)));
for (const [what, selector] of [
    ['main heading', '#run h1'], ['run details', '#run .page-head p'], ['run status', '#run-status'],
    ['progress', '#run-progress-text'], ['duration', '#run-duration'], ['event count', '#run-events'],
    ['stream note', '#run-stream'], ['panel title', '#node-panel h3'], ['panel state', '#node-state'],
    ['output', '#run-output'], ['log seq', '#run-log .seq'], ['log time', '#run-log time'],
    ['log level', '#run-log .level'], ['log message', '#run-log .message'],
    ['sidebar link', '#workflow-list .wf-name'], ['sidebar meta', '#workflow-list .wf-meta'],
    ['sidebar count', '#workflow-count'], ['top bar', '#who-name']]) {
  const el = document.querySelector(selector);
  out.push(el ? html(what, el) : {what, missing: selector});
}
return out;
})()"""
    )
    # Every state, drawn by the console's own diagram module with the page's stylesheet:
    # no single run holds a node in each state at once.
    measured += page.evaluate(
        "(async () => {"
        + CONTRAST
        + f"""
const {{ diagram }} = await import('/console/static/js/diagram.js');
const states = {json.dumps(STATES)};
const graph = {{nodes: states.map((id) => ({{id, type: 'llm', label: 'Node ' + id, config: {{}}}})),
               edges: []}};
const chart = diagram(graph, {{live: true, title: 'contrast'}});
const box = document.createElement('div');
box.className = 'diagram-box';
box.append(chart.element);
document.querySelector('#run .graph-card').append(box);
chart.update({{
  running: {{status: 'running'}},
  waiting: {{status: 'running', human: {{waiting: true, prompt: '?'}}}},
  finished: {{status: 'finished'}},
  failed: {{status: 'failed'}},
  skipped: {{status: 'skipped'}},
}});
const out = [...chart.element.querySelectorAll('.node')].flatMap((node) =>
  [...node.querySelectorAll('text')].map((t) =>
    svg(`node ${{node.dataset.nodeId}} ${{t.getAttribute('class')}}`, t)));
// The run's status badge and the panel's state, in every status, where the page shows them.
const status = document.querySelector('#run-status');
const state = document.querySelector('#node-state');
// A copy of `shown` with `className`, reading `name`, measured where the page shows it.
const sample = (shown, className, name, label) => {{
  const copy = shown.cloneNode();
  copy.removeAttribute('id');
  copy.className = className;
  copy.textContent = name;
  shown.after(copy);
  out.push(html(label + ' ' + name, copy));
}};
for (const name of {json.dumps(RUN_STATUSES)}) sample(status, 'badge status-' + name, name, 'status badge');
for (const name of states) sample(state, 'state-text state-' + name, name, 'panel state');
// The focus ring's colour on what it is drawn over (WCAG 1.4.11 asks 3:1 of it).
const probe = document.createElement('span');
probe.style.color = 'var(--focus)';
document.body.append(probe);
const ring = parse(getComputedStyle(probe).color);
probe.remove();
for (const [name, el] of [['page', document.body], ['diagram', document.querySelector('svg')]]) {{
  const bg = backdrop(el);
  out.push({{what: 'focus ring on ' + name, text: '', fg: css(ring), bg: css(bg), ratio: ratio(ring, bg), ring: true}});
}}
return out;
}})()"""
    )
    missing = [m for m in measured if "missing" in m]
    assert missing == [], missing
    drawn = {m["what"].split()[1] for m in measured if m["what"].endswith(" state")}
    assert drawn >= set(STATES), drawn
    assert {m["what"] for m in measured} >= {f"status badge {s}" for s in RUN_STATUSES}
    # The words a state is written in, as the diagram shows them.
    texts = {
        m["what"].split()[1]: m["text"]
        for m in measured
        if m["what"].startswith("node ") and m["what"].endswith(" state")
    }
    assert texts["waiting"] == "✎ waiting for input" and texts["failed"] == "✗ failed"
    rings = [m for m in measured if m.get("ring")]
    assert len(rings) == 2 and all(m["ratio"] >= 3 for m in rings), rings
    low = [m for m in measured if m["ratio"] < 4.5 and not m.get("ring")]
    assert low == [], "text below 4.5:1:\n" + "\n".join(json.dumps(m) for m in low)
    assert len(measured) > 50

// The console's pure modules under Node's test runner (run by test_modules.py): the
// run fold (seq order, duplicates, gaps) and the layered layout.
import assert from "node:assert/strict";
import { test } from "node:test";

import { layout } from "../../console/static/js/layout.js";
import { applyEvent, initialState } from "../../console/static/js/runstate.js";

const at = "2026-01-01T00:00:00+00:00";
const ev = (seq, type, nodeId = null, data = {}) => ({ seq, type, nodeId, timestamp: at, data });

test("events fold in seq order; a repeated seq is ignored and counted", () => {
  const state = initialState("x");
  assert.equal(applyEvent(state, ev(1, "RUN_STARTED", null, { node_count: 2 })), "applied");
  assert.equal(applyEvent(state, ev(2, "NODE_STARTED", "llm-1", { node_type: "llm" })), "applied");
  assert.equal(applyEvent(state, ev(3, "LLM_TOKEN", "llm-1", { delta: "Hel" })), "applied");
  assert.equal(applyEvent(state, ev(3, "LLM_TOKEN", "llm-1", { delta: "Hel" })), "duplicate");
  assert.equal(applyEvent(state, ev(4, "LLM_TOKEN", "llm-1", { delta: "lo" })), "applied");
  assert.equal(state.nodes["llm-1"].text, "Hello");
  assert.equal(state.nodes["llm-1"].status, "running");
  assert.deepEqual(state.seqs, [1, 2, 3, 4]);
  assert.equal(state.duplicates, 1);
  // One log line for the run of tokens, growing with it.
  const tokens = state.logs.at(-1);
  assert.equal(tokens.type, "llm_tokens");
  assert.deepEqual([tokens.seq, tokens.lastSeq, tokens.count], [3, 4, 2]);
});

test("a gap applies nothing, so the caller can ask again from lastSeq", () => {
  const state = initialState("x");
  applyEvent(state, ev(1, "RUN_STARTED"));
  assert.equal(applyEvent(state, ev(3, "NODE_STARTED", "a")), "gap");
  assert.equal(state.lastSeq, 1);
  assert.deepEqual(state.seqs, [1]);
  assert.equal(state.nodes.a, undefined);
});

test("terminal events end the run; human questions and retries fold in", () => {
  const state = initialState("x");
  applyEvent(state, ev(1, "run_started"));
  applyEvent(state, ev(2, "node_started", "h", { node_type: "human" }));
  applyEvent(state, ev(3, "human_input_requested", "h", { prompt: "Ship?" }));
  assert.deepEqual(state.nodes.h.human, { prompt: "Ship?", waiting: true, response: null });
  applyEvent(state, ev(4, "human_input_received", "h", { response: "yes" }));
  assert.equal(state.nodes.h.human.waiting, false);
  applyEvent(state, ev(5, "node_started", "l"));
  applyEvent(state, ev(6, "llm_token", "l", { delta: "bad" }));
  applyEvent(state, ev(7, "llm_reset", "l", { attempt: 2, reason: "cut" }));
  applyEvent(state, ev(8, "llm_token", "l", { delta: "good" }));
  assert.equal(state.nodes.l.text, "good");
  applyEvent(state, ev(9, "node_skipped", "z", { node_type: "end", reason: "no edge" }));
  applyEvent(state, ev(10, "something_new", null, { x: 1 }));
  applyEvent(state, ev(11, "run_finished", null, { output: { a: 1 }, execution_time_ms: 42 }));
  assert.equal(state.status, "completed");
  assert.deepEqual(state.output, { a: 1 });
  assert.equal(state.executionTimeMs, 42);
  assert.equal(state.nodes.z.status, "skipped");
  assert.equal(state.logs.at(-2).message, 'something_new {"x":1}');
  // The fold is plain data: it survives JSON (sessionStorage), and goes on from there.
  const saved = JSON.parse(JSON.stringify(state));
  assert.equal(JSON.stringify(saved), JSON.stringify(state));
  assert.equal(applyEvent(saved, ev(11, "run_finished")), "duplicate");
});

test("layers follow the longest path; handles label their edges; loops go back", () => {
  const nodes = ["s", "c", "a", "b", "e"].map((id) => ({ id, type: id === "s" ? "START" : "X" }));
  const edges = [
    { id: "1", source: "s", target: "c" },
    { id: "2", source: "c", target: "a", sourceHandle: "true" },
    { id: "3", source: "c", target: "b", sourceHandle: "false" },
    { id: "4", source: "a", target: "e" },
    { id: "5", source: "b", target: "a" },
    { id: "6", source: "e", target: "c" },
  ];
  const placed = layout(nodes, edges);
  const layer = Object.fromEntries(placed.nodes.map((n) => [n.id, n.layer]));
  assert.deepEqual(layer, { s: 0, c: 1, b: 2, a: 3, e: 4 });
  const byId = Object.fromEntries(placed.edges.map((e) => [e.id, e]));
  assert.equal(byId["2"].handle, "true");
  assert.equal(byId["6"].back, true);
  assert.equal(placed.edges.filter((e) => e.back).length, 1);
  // No two nodes overlap, and everything fits the drawing.
  for (const a of placed.nodes) {
    assert.ok(a.x + a.w <= placed.width && a.y + a.h <= placed.height);
    for (const b of placed.nodes) {
      if (a !== b) assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y);
    }
  }
});

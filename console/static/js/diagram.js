// The workflow graph as an SVG diagram: nodes by kind with their labels, edges with their
// handles (true/false, body/done, error). In a run each node also shows its state in
// words and a symbol (colour is a third cue, never the only one), and can be focused
// with the keyboard and opened with Enter or Space.

import { layout } from "./layout.js";
import { s } from "./dom.js";

const STATE_TEXT = {
  pending: "○ pending",
  running: "◐ running",
  waiting: "✎ waiting for input",
  finished: "✓ finished",
  failed: "✗ failed",
  skipped: "↷ skipped",
};

const KIND_GROUP = {
  start: "io",
  end: "io",
  input: "io",
  output: "io",
  llm: "ai",
  agent: "ai",
  condition: "flow",
  loop: "flow",
  transform: "data",
  code: "data",
  http: "ext",
  datasource: "ext",
  knowledge: "ext",
  a2a: "ext",
  human: "human",
};

function kindOf(node) {
  const kind = String(node.type || "").toLowerCase();
  return kind === "unknown" ? String(node.rawType || "unknown").toLowerCase() : kind;
}

function clip(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

let drawn = 0;

export function stateOf(nodeState) {
  if (!nodeState) return "pending";
  if (nodeState.status === "running" && nodeState.human?.waiting) return "waiting";
  return nodeState.status;
}

/**
 * Draw `graph` ({nodes, edges} as the API returns them) into a new <svg>.
 * @param {{onSelect?: (id: string) => void, live?: boolean}} options live: show states
 * @returns {{element: SVGSVGElement, update: (states: object) => void,
 *            select: (id: string | null) => void}}
 */
export function diagram(graph, { onSelect, live = false, title = "Workflow graph" } = {}) {
  const placed = layout(graph.nodes, graph.edges);
  const arrowId = `arrow-${++drawn}`;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const svg = s("svg", {
    class: "diagram",
    viewBox: `0 0 ${placed.width} ${placed.height}`,
    width: placed.width,
    height: placed.height,
    role: "group",
    "aria-label": title,
  });
  // Scaled down to fit its box, but not below two thirds: a larger graph scrolls instead
  // of becoming unreadable. (CSSOM, not a style attribute: the page's CSP allows no inline
  // style.)
  svg.style.minWidth = `${Math.round((placed.width * 2) / 3)}px`;
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        {
          id: arrowId,
          viewBox: "0 0 10 10",
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: "auto-start-reverse",
        },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }),
      ),
    ),
  );

  const edgeLayer = s("g", { class: "edges" });
  for (const edge of placed.edges) {
    const group = s(
      "g",
      {
        class: `edge${edge.back ? " back" : ""}`,
        "data-edge-id": edge.id,
        "data-source": edge.source,
        "data-target": edge.target,
        "data-handle": edge.handle || null,
      },
      s("path", { d: edge.path, "marker-end": `url(#${arrowId})` }),
    );
    if (edge.handle) {
      const width = 8 + edge.handle.length * 7;
      group.append(
        s("rect", {
          class: "handle-bg",
          x: edge.labelX - width / 2,
          y: edge.labelY - 9,
          width,
          height: 16,
          rx: 4,
        }),
        s("text", { class: "handle", x: edge.labelX, y: edge.labelY + 3 }, edge.handle),
      );
    }
    edgeLayer.append(group);
  }
  svg.append(edgeLayer);

  const views = new Map();
  const nodeLayer = s("g", { class: "nodes" });
  for (const box of placed.nodes) {
    const node = byId.get(box.id);
    const kind = kindOf(node);
    const label = node.label || node.id;
    const stateText = s("text", { class: "state", x: box.x + 14, y: box.y + box.h - 10 });
    const group = s(
      "g",
      {
        class: `node kind-${KIND_GROUP[kind] || "other"}`,
        "data-node-id": node.id,
        "data-kind": kind,
        "data-state": live ? "pending" : null,
        tabindex: 0,
        role: "button",
      },
      s("title", {}, `${label} (${node.id}), ${kind}`),
      s("rect", { class: "box", x: box.x, y: box.y, width: box.w, height: box.h, rx: 8 }),
      s("rect", { class: "band", x: box.x, y: box.y, width: 6, height: box.h, rx: 3 }),
      s("text", { class: "kind", x: box.x + 14, y: box.y + 15 }, kind.toUpperCase()),
      s("text", { class: "label", x: box.x + 14, y: box.y + 34 }, clip(label, 17)),
      live ? stateText : s("text", { class: "nid", x: box.x + 14, y: box.y + box.h - 10 }, clip(node.id, 20)),
    );
    const choose = () => onSelect?.(node.id);
    group.addEventListener("click", choose);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose();
      }
    });
    views.set(node.id, { group, stateText, label, kind });
    nodeLayer.append(group);
  }
  svg.append(nodeLayer);

  function describe(view, state) {
    return `${view.kind} node ${view.label}` + (live ? `: ${STATE_TEXT[state].slice(2)}` : "");
  }
  for (const view of views.values()) {
    view.group.setAttribute("aria-label", describe(view, "pending"));
    view.stateText.textContent = STATE_TEXT.pending;
  }

  return {
    element: svg,
    update(states) {
      for (const [id, view] of views) {
        const state = stateOf(states[id]);
        if (view.group.getAttribute("data-shown") === state) continue;
        view.group.setAttribute("data-state", state === "waiting" ? "running" : state);
        view.group.classList.toggle("waiting", state === "waiting");
        view.group.setAttribute("data-shown", state);
        view.stateText.textContent = STATE_TEXT[state] || state;
        view.group.setAttribute("aria-label", describe(view, state));
      }
    },
    select(id) {
      for (const [nodeId, view] of views) {
        view.group.classList.toggle("selected", nodeId === id);
        view.group.setAttribute("aria-pressed", String(nodeId === id));
      }
    },
  };
}

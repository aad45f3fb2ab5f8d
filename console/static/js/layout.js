// A layered (Sugiyama-style) layout of a workflow graph, left to right: back edges are
// found by a depth-first search and drawn as loops below; each node's layer is its
// longest path from an entry; nodes are ordered within layers by the barycentre of their
// neighbours (a few sweeps), which keeps most edges from crossing. Pure: no DOM.

export const NODE_W = 156;
export const NODE_H = 62;
const GAP_X = 56;
const GAP_Y = 22;
const PAD = 20;
const SWEEPS = 4;

/**
 * @param {{id: string}[]} nodes
 * @param {{id: string, source: string, target: string, sourceHandle?: string}[]} edges
 */
export function layout(nodes, edges) {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const usable = edges.filter((e) => known.has(e.source) && known.has(e.target));
  const out = new Map(ids.map((id) => [id, []]));
  const indegree = new Map(ids.map((id) => [id, 0]));
  for (const e of usable) {
    out.get(e.source).push(e);
    indegree.set(e.target, indegree.get(e.target) + 1);
  }

  // Back edges: those that close a cycle in a DFS from the entries (start nodes first).
  const back = new Set();
  const colour = new Map();
  const rank = new Map(
    nodes.map((node, i) => {
      const kind = String(node.type || "").toLowerCase();
      return [node.id, (kind === "start" ? 0 : indegree.get(node.id) === 0 ? 1 : 2) * 1e6 + i];
    }),
  );
  const byEntry = [...ids].sort((a, b) => rank.get(a) - rank.get(b));
  for (const root of byEntry) {
    if (colour.has(root)) continue;
    const stack = [[root, 0]];
    colour.set(root, "grey");
    while (stack.length) {
      const frame = stack[stack.length - 1];
      const [id, i] = frame;
      const outgoing = out.get(id);
      if (i >= outgoing.length) {
        colour.set(id, "black");
        stack.pop();
        continue;
      }
      frame[1] += 1;
      const edge = outgoing[i];
      const seen = colour.get(edge.target);
      if (seen === "grey") back.add(edge.id);
      else if (!seen) {
        colour.set(edge.target, "grey");
        stack.push([edge.target, 0]);
      }
    }
  }
  const forward = usable.filter((e) => !back.has(e.id) && e.source !== e.target);

  // Layers: longest path over the forward edges (Kahn's order).
  const layer = new Map(ids.map((id) => [id, 0]));
  const remaining = new Map(ids.map((id) => [id, 0]));
  for (const e of forward) remaining.set(e.target, remaining.get(e.target) + 1);
  const forwardOut = new Map(ids.map((id) => [id, []]));
  for (const e of forward) forwardOut.get(e.source).push(e);
  const queue = ids.filter((id) => remaining.get(id) === 0);
  while (queue.length) {
    const id = queue.shift();
    for (const e of forwardOut.get(id)) {
      layer.set(e.target, Math.max(layer.get(e.target), layer.get(id) + 1));
      remaining.set(e.target, remaining.get(e.target) - 1);
      if (remaining.get(e.target) === 0) queue.push(e.target);
    }
  }

  const layers = [];
  for (const id of ids) {
    const l = layer.get(id);
    (layers[l] ||= []).push(id);
  }
  for (let l = 0; l < layers.length; l++) layers[l] ||= [];

  const position = new Map();
  const reindex = () => layers.forEach((row) => row.forEach((id, i) => position.set(id, i)));
  reindex();
  const preds = new Map(ids.map((id) => [id, []]));
  const succs = new Map(ids.map((id) => [id, []]));
  for (const e of forward) {
    preds.get(e.target).push(e.source);
    succs.get(e.source).push(e.target);
  }
  const barycentre = (id, neighbours) => {
    const list = neighbours.get(id);
    if (!list.length) return position.get(id);
    return list.reduce((sum, n) => sum + position.get(n), 0) / list.length;
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.keys() : [...layers.keys()].reverse();
    for (const l of order) {
      const neighbours = down ? preds : succs;
      const weights = new Map(layers[l].map((id) => [id, barycentre(id, neighbours)]));
      layers[l].sort((a, b) => weights.get(a) - weights.get(b) || position.get(a) - position.get(b));
      layers[l].forEach((id, i) => position.set(id, i));
    }
  }

  const tallest = Math.max(1, ...layers.map((row) => row.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const placed = new Map();
  layers.forEach((row, l) => {
    const offset = ((tallest - row.length) * (NODE_H + GAP_Y)) / 2;
    row.forEach((id, i) => {
      placed.set(id, {
        id,
        layer: l,
        x: PAD + l * (NODE_W + GAP_X),
        y: PAD + offset + i * (NODE_H + GAP_Y),
        w: NODE_W,
        h: NODE_H,
      });
    });
  });
  const loops = usable.filter((e) => back.has(e.id) || e.source === e.target).length;
  const width = PAD * 2 + Math.max(1, layers.length) * NODE_W + (layers.length - 1) * GAP_X;

  const routed = usable.map((e) => route(e, placed.get(e.source), placed.get(e.target), height));
  return {
    width,
    height: height + (loops ? 34 : 0),
    nodes: ids.map((id) => placed.get(id)),
    edges: routed,
  };
}

function route(edge, a, b, height) {
  const handle = edge.sourceHandle || "";
  if (b.x > a.x) {
    const x1 = a.x + a.w;
    const y1 = a.y + a.h / 2;
    const x2 = b.x;
    const y2 = b.y + b.h / 2;
    const bend = Math.max(30, (x2 - x1) / 2);
    return {
      ...edge,
      handle,
      back: false,
      path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      // The curve's midpoint: edges leaving one node apart (true/false) part there.
      labelX: (x1 + x2) / 2,
      labelY: (y1 + y2) / 2,
    };
  }
  // A back edge (a loop): out of the source's bottom, under everything, into the target's.
  const below = height + 14;
  const x1 = a.x + a.w / 2;
  const y1 = a.y + a.h;
  const x2 = b.x + b.w / 2 + (a === b ? 24 : 0);
  const y2 = b.y + b.h;
  return {
    ...edge,
    handle,
    back: true,
    path: `M${x1},${y1} C${x1},${below} ${x2},${below} ${x2},${y2}`,
    labelX: (x1 + x2) / 2,
    labelY: below - 6,
  };
}

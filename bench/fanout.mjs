// N GraphQL subscribers (graphql-transport-ws, the `ws` package) on one execution.
// argv: wsUrl token executionId subscribers batched(0|1)
// Prints {"ready": true} once every subscriber has had its first events (the server follows
// each of them live from then on), then, when
// every subscriber has seen `run_finished`, one JSON line: event counts, the check that
// each saw seq 1..N once, and latencies (receipt minus the event's timestamp, in ms).
import { createRequire } from "node:module";

// The bench uses the npm packages the tests install (tests/js/node_modules).
const require = createRequire(new URL("../tests/js/package.json", import.meta.url));
const WebSocket = require("ws");

const [url, token, executionId, countText, batchedText] = process.argv.slice(2);
const count = Number(countText);
const batched = batchedText === "1";
const fields = "seq type nodeId timestamp";
const field = batched ? "executionEventBatches" : "executionEvents";
const query = `subscription($id: ID!) { ${field}(executionId: $id) { ${fields} } }`;

const latencies = [];
const counts = [];
let problems = 0;
let subscribed = 0;
let finished = 0;
let gateAt = Infinity;
let lastAt = 0;
let messages = 0;
let gateCpu = null;
let firstSent = Infinity;
let lastSent = 0;

function onEvent(state, event, receivedAt) {
  if (event.seq !== state.last + 1) problems += 1;
  state.last = event.seq;
  const sent = Date.parse(event.timestamp);
  if (sent >= gateAt) {
    latencies.push(receivedAt - sent);
    firstSent = Math.min(firstSent, sent);
    lastSent = Math.max(lastSent, sent);
  }
  if (event.type === "RUN_FINISHED") state.done = true;
}

function open(index) {
  const state = { last: 0, done: false, started: false };
  const ws = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
  ws.on("open", () => {
    ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
  });
  ws.on("message", (raw) => {
    const receivedAt = Date.now();
    lastAt = receivedAt;
    messages += 1;
    const message = JSON.parse(raw);
    if (message.type === "connection_ack") {
      ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { id: executionId } } }));
      return;
    }
    if (message.type === "next") {
      if (message.payload.errors) {
        problems += 1;
        return;
      }
      if (!state.started) {
        state.started = true;
        subscribed += 1;
        if (subscribed === count) console.log(JSON.stringify({ ready: true }));
      }
      const data = message.payload.data[field];
      for (const event of batched ? data : [data]) onEvent(state, event, receivedAt);
      return;
    }
    if (message.type === "complete") {
      if (!state.done) problems += 1;
      counts[index] = state.last;
      ws.close();
      finished += 1;
      if (finished === count) report();
    }
  });
  ws.on("error", () => {
    problems += 1;
  });
}

function report() {
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.round(q * latencies.length) - 1))];
  console.log(
    JSON.stringify({
      subscribers: count,
      events: counts[0],
      sameCounts: counts.every((c) => c === counts[0]),
      problems,
      measured: latencies.length,
      p50: at(0.5),
      p99: at(0.99),
      max: latencies[latencies.length - 1],
      // From the gate's opening to the last message, and how many messages that took.
      spanMs: lastAt - gateAt,
      // How long the run took to produce the timed events (their timestamps' spread).
      producedMs: lastSent - firstSent,
      messages,
      // This client's own CPU (parsing every frame): a floor under the latencies it measures.
      clientCpuS: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage()),
      // The same from the gate's opening: the part spent on the timed events.
      clientCpuSinceGateS: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(gateCpu)),
    }),
  );
  process.exit(0);
}

// The gate opens when the parent says so (a line on stdin): only later events are timed.
process.stdin.on("data", () => {
  gateAt = Date.now();
  gateCpu = process.cpuUsage();
});
for (let i = 0; i < count; i += 1) open(i);

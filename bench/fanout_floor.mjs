// The floor under bench/api.py's fan-out figure: an ideal graphql-transport-ws server (Node.js
// `ws`, every frame encoded once for all subscribers, no database, no GraphQL execution) that
// replays a run shaped like the bench's (5 events before the gate, then 310 more in BATCHES
// batches INTERVAL ms apart, the last `RUN_FINISHED`) to every subscriber of bench/fanout.mjs.
// argv: port batches intervalMs. Prints {"listening": true}; a line on stdin starts the run.
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/js/package.json", import.meta.url));
const { WebSocketServer } = require("ws");
const [portText, batchesText, intervalText] = process.argv.slice(2);
const BATCHES = Number(batchesText), INTERVAL = Number(intervalText);
const sockets = [];
const wss = new WebSocketServer({ port: Number(portText), perMessageDeflate: false });
const field = "executionEventBatches";
function event(seq, type) {
  return { seq, type, nodeId: `t-${seq}`, timestamp: new Date().toISOString() };
}
function frame(events) {
  return JSON.stringify({ id: "1", type: "next", payload: { data: { [field]: events } } });
}
wss.on("connection", (ws) => {
  ws.on("message", (raw) => {
    const m = JSON.parse(raw);
    if (m.type === "connection_init") ws.send(JSON.stringify({ type: "connection_ack" }));
    if (m.type === "subscribe") {
      ws.send(frame([1, 2, 3, 4, 5].map((s) => event(s, "NODE_FINISHED"))));
      sockets.push(ws);
    }
  });
});
console.log(JSON.stringify({ listening: true }));
process.stdin.on("data", () => {
  let seq = 5;
  const total = 315;
  const per = Math.ceil((total - seq) / BATCHES);
  const tick = () => {
    const events = [];
    while (events.length < per && seq < total) {
      seq += 1;
      events.push(event(seq, seq === total ? "RUN_FINISHED" : "NODE_FINISHED"));
    }
    const text = frame(events); // one encoding, every subscriber
    for (const ws of sockets) ws.send(text);
    if (seq >= total) {
      const done = JSON.stringify({ id: "1", type: "complete" });
      for (const ws of sockets) ws.send(done);
      return;
    }
    setTimeout(tick, INTERVAL);
  };
  tick();
});

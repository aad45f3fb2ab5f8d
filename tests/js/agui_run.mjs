// Runs an AG-UI agent with the real `@ag-ui/client` HttpAgent and prints every event as a JSON line.
// argv: one JSON object {url, token, threadId, message, runId, forwardedProps, resumeRunId, resumePayload}.
// When the first run ends with interrupts and `resumePayload` is set, a second runAgent answers
// every pending interrupt with it (status "resolved"). Ends with {"done": true} or {"failed": message}.
import { HttpAgent } from "@ag-ui/client";

const config = JSON.parse(process.argv[2]);
const agent = new HttpAgent({
  url: config.url,
  headers: { Authorization: `Bearer ${config.token}` },
  threadId: config.threadId,
  initialMessages: [{ id: "m1", role: "user", content: config.message }],
});
agent.subscribe({
  onEvent({ event }) {
    console.log(JSON.stringify(event));
  },
});

try {
  await agent.runAgent({ runId: config.runId, forwardedProps: config.forwardedProps ?? {} });
  const pending = agent.pendingInterrupts ?? [];
  if (pending.length > 0 && config.resumePayload !== undefined) {
    console.log(JSON.stringify({ resumed: pending.map((i) => i.id) }));
    await agent.runAgent({
      runId: config.resumeRunId,
      forwardedProps: config.forwardedProps ?? {},
      resume: pending.map((i) => ({
        interruptId: i.id,
        status: "resolved",
        payload: config.resumePayload,
      })),
    });
  }
  console.log(JSON.stringify({ done: true }));
} catch (err) {
  console.log(JSON.stringify({ failed: String(err?.message ?? err) }));
}

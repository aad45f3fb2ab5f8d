// A human node with the real `@ag-ui/client` HttpAgent, both ways seed 003 / AG-UI allow.
// argv: one JSON object {url, humanInputUrl, token, threadId, runId, message, workflowJson,
//   answer, mode, answerAfterMs, resumeRunId}.
// mode "stream": one runAgent; on the CUSTOM `human_input_requested` event the script waits
//   `answerAfterMs`, then POSTs {threadId, runId, response: answer} to humanInputUrl, and the
//   same stream goes on to RUN_FINISHED.
// mode "interrupt": runAgent with forwardedProps.humanInputMode "interrupt" ends at the
//   question; every later runAgent carries only `resume` (no humanInputMode) and answers the
//   pending interrupts, until a run ends without one (at most 5 runs).
// Prints every event as a JSON line, {"answered": ...} after each answer, {"runEnded": n}
// after each runAgent, the agent's final state as {"state": ...}, then {"done": true} or
// {"failed": message}.
import { HttpAgent } from "@ag-ui/client";

const config = JSON.parse(process.argv[2]);
const headers = { Authorization: `Bearer ${config.token}` };
const agent = new HttpAgent({
  url: config.url,
  headers,
  threadId: config.threadId,
  initialMessages: [{ id: "m1", role: "user", content: config.message }],
});
const answers = [];
agent.subscribe({
  onEvent({ event }) {
    console.log(JSON.stringify(event));
  },
  onCustomEvent({ event }) {
    if (config.mode !== "stream" || event.name !== "human_input_requested") return;
    answers.push(
      new Promise((resolve) => setTimeout(resolve, config.answerAfterMs ?? 0)).then(async () => {
        const response = await fetch(config.humanInputUrl, {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json" },
          body: JSON.stringify({
            threadId: event.value.threadId,
            runId: event.value.runId,
            response: config.answer,
          }),
        });
        console.log(JSON.stringify({ answered: response.status, body: await response.json() }));
      }),
    );
  },
});

try {
  if (config.mode === "stream") {
    await agent.runAgent({ runId: config.runId, forwardedProps: { workflowJson: config.workflowJson } });
    await Promise.all(answers);
    console.log(JSON.stringify({ runEnded: 1 }));
  } else {
    await agent.runAgent({
      runId: config.runId,
      forwardedProps: { workflowJson: config.workflowJson, humanInputMode: "interrupt" },
    });
    console.log(JSON.stringify({ runEnded: 1 }));
    for (let n = 2; n <= 5 && (agent.pendingInterrupts ?? []).length > 0; n++) {
      const pending = agent.pendingInterrupts;
      console.log(JSON.stringify({ answered: pending.map((i) => i.id) }));
      await agent.runAgent({
        runId: `${config.resumeRunId}-${n}`,
        forwardedProps: { workflowJson: config.workflowJson },
        resume: pending.map((i) => ({
          interruptId: i.id,
          status: "resolved",
          payload: { response: `${config.answer} ${n - 1}` },
        })),
      });
      console.log(JSON.stringify({ runEnded: n }));
    }
  }
  console.log(JSON.stringify({ state: agent.state }));
  console.log(JSON.stringify({ done: true }));
} catch (err) {
  console.log(JSON.stringify({ failed: String(err?.message ?? err) }));
}

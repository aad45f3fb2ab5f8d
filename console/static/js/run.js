// One run, live: the workflow's diagram with every node's state, the selected node's
// streamed LLM text, tool calls, output or error, a human node's question with an answer
// box, progress, duration, the log, the output, and cancel.
//
// Everything shown is a fold of the run's event log (`executionEventBatches` from
// `afterSeq`). The fold is saved in sessionStorage, so a reload continues from the last
// seq it rendered; a lost connection resubscribes from there too. The seqs rendered are
// on `#run[data-seqs]`, so anyone can check that none was shown twice.

import { describeUserError, UserErrors } from "./api.js";
import { diagram, stateOf } from "./diagram.js";
import { clock, formatDuration, formatTime, h, replace, shortId, show } from "./dom.js";
import {
  applyEvent,
  elapsedMs,
  initialState,
  loadState,
  saveState,
  TERMINAL_STATUSES,
} from "./runstate.js";

const EXECUTION = `query ConsoleRun($id: ID!) {
  execution(id: $id) {
    id status workflowId workflowName createdAt error retryOf retryFromNode
    workflow { id name nodes { id type rawType label config } edges { id source target sourceHandle } }
    nodes { nodeId nodeType }
  }
}`;

const EVENTS = `subscription ConsoleRunEvents($id: ID!, $after: Int!) {
  executionEventBatches(executionId: $id, afterSeq: $after) { seq type nodeId timestamp data }
}`;

const CANCEL = `mutation ConsoleCancel($input: CancelExecutionInput!) {
  cancelExecution(input: $input) { execution { id status } userErrors { field code message } }
}`;

const RETRY = `mutation ConsoleRetry($input: RetryExecutionInput!) {
  retryExecution(input: $input) { execution { id } userErrors { field code message } }
}`;

const ANSWER = `mutation ConsoleAnswer($input: SubmitHumanInputInput!) {
  submitHumanInput(input: $input) { accepted userErrors { field code message } }
}`;

const STATUS_TEXT = {
  loading: "… reading the log",
  pending: "○ pending",
  running: "◐ running",
  completed: "✓ completed",
  failed: "✗ failed",
  cancelled: "■ cancelled",
};
const RENDER_EVERY_MS = 40;
const SAVE_EVERY_MS = 300;

function runGraph(execution) {
  const nodes = [...(execution.workflow?.nodes || [])];
  const known = new Set(nodes.map((n) => n.id));
  // Nodes the run had that the workflow's current version does not (edited since).
  for (const n of execution.nodes) {
    if (!known.has(n.nodeId)) {
      nodes.push({ id: n.nodeId, type: n.nodeType || "unknown", rawType: n.nodeType || "", label: null, config: {} });
    }
  }
  return { nodes, edges: execution.workflow?.edges || [] };
}

export function runView(ctx, executionId) {
  const element = h("section", { id: "run", class: "run", "aria-busy": "true", "data-execution-id": executionId }, h("p", {}, "Loading run…"));
  let state = loadState(executionId);
  let execution = null;
  let graph = null;
  let chart = null;
  let stop = null;
  let streamState = "idle";
  let renderTimer = null;
  let saveTimer = null;
  let ticker = null;
  let selected = null;
  let follow = true;
  let panelKey = "";
  let loggedUpTo = 0;
  let shownSeqs = -1;
  let destroyed = false;
  const ui = {};

  async function load() {
    let data;
    try {
      data = await ctx.api.request(EXECUTION, { id: executionId });
    } catch (error) {
      replace(element, h("p", { class: "alert", role: "alert" }, error.message));
      return;
    }
    if (destroyed) return;
    execution = data.execution;
    element.removeAttribute("aria-busy");
    if (!execution) {
      replace(element, h("h1", {}, "Run not found"), h("p", {}, "It does not exist, or it is not yours."));
      return;
    }
    // Only the log says a run has ended: an ended run is read from seq 1 before it shows
    // as ended, so what the page shows and its seqs always agree.
    const status = execution.status.toLowerCase();
    state ||= initialState(executionId, TERMINAL_STATUSES.has(status) ? "loading" : status);
    graph = runGraph(execution);
    document.title = `Run ${shortId(executionId)} · ${execution.workflowName} · agentloom console`;
    build();
    ctx.highlightWorkflow(execution.workflowId);
    render();
    if (!TERMINAL_STATUSES.has(state.status)) subscribe();
    else streamState = "complete";
    ticker = setInterval(tick, 250);
  }

  function subscribe() {
    streamState = "live";
    element.dataset.resumedFrom = String(state.lastSeq);
    stop = ctx.socket.subscribe({
      query: EVENTS,
      variables: () => ({ id: executionId, after: state.lastSeq }),
      next: (data) => receive(data.executionEventBatches || []),
      error: (errors) => {
        stop = null;
        streamState = "error";
        ui.stream.textContent = `The event stream stopped: ${errors.map((e) => e.message).join("; ")}`;
        ui.stream.classList.add("alert");
      },
      complete: () => {
        stop = null;
        streamState = "complete";
        schedule();
        persist();
      },
    });
  }

  function receive(batch) {
    for (const event of batch) {
      if (applyEvent(state, event) === "gap") {
        // A seq went missing: ask again from the last one applied (the server replays).
        stop?.();
        subscribe();
        break;
      }
    }
    schedule();
    if (!saveTimer) saveTimer = setTimeout(persist, SAVE_EVERY_MS);
  }

  function persist() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (state) saveState(state);
  }

  function schedule() {
    if (!renderTimer) renderTimer = setTimeout(render, RENDER_EVERY_MS);
  }

  function build() {
    ui.status = h("span", { id: "run-status", class: "badge" });
    ui.progress = h("progress", { id: "run-progress", max: 100, value: 0, "aria-label": "Progress" });
    ui.progressText = h("span", { id: "run-progress-text", class: "small" });
    ui.duration = h("span", { id: "run-duration", class: "small" });
    ui.events = h("span", { id: "run-events", class: "small muted" });
    ui.stream = h("p", { id: "run-stream", class: "small muted", role: "status" });
    ui.cancel = h("button", { type: "button", id: "run-cancel", class: "danger" }, "■ Cancel run");
    ui.cancel.addEventListener("click", cancel);
    ui.human = h("div", { id: "human", class: "human", "aria-live": "assertive" });
    // Not a live region: streamed tokens would be read out one by one.
    ui.panel = h("div", { id: "node-panel", class: "node-panel" });
    ui.follow = h("button", { type: "button", id: "run-follow", class: "link", hidden: true }, "Follow the run");
    ui.follow.addEventListener("click", () => {
      follow = true;
      render();
    });
    ui.output = h("pre", { id: "run-output", class: "output", tabindex: 0 });
    ui.log = h("ol", { id: "run-log", class: "log", tabindex: 0, "aria-label": "Run log" });
    chart = diagram(graph, {
      live: true,
      title: `Live graph of ${execution.workflowName}`,
      onSelect: (id) => {
        selected = id;
        follow = false;
        render();
      },
    });
    const workflowLink = execution.workflowId
      ? h("a", { href: `#/workflows/${execution.workflowId}` }, execution.workflowName)
      : h("span", {}, execution.workflowName || "an ad-hoc graph");
    replace(
      element,
      h(
        "header",
        { class: "page-head" },
        h("h1", { tabindex: -1 }, "Run of ", workflowLink),
        h(
          "p",
          { class: "muted small" },
          "Run ",
          h("code", {}, executionId),
          ` · created ${formatTime(execution.createdAt)}`,
          execution.retryOf
            ? [" · retry of ", h("a", { href: `#/runs/${execution.retryOf}`, id: "run-retry-of" }, shortId(execution.retryOf)), ` from ${execution.retryFromNode}`]
            : null,
        ),
        h("div", { class: "runbar" }, ui.status, ui.progress, ui.progressText, ui.duration, ui.events, ui.cancel),
        ui.stream,
      ),
      ui.human,
      h("section", { class: "graph-card", "aria-labelledby": "run-graph-title" }, h("h2", { id: "run-graph-title" }, "Graph ", h("span", { class: "muted small" }, "select a node (click, or Tab and Enter) for its details")), h("div", { class: "diagram-box" }, chart.element)),
      h(
        "div",
        { class: "columns run-cols" },
        h("section", { class: "card side-card", "aria-label": "Selected node" }, ui.follow, ui.panel),
        h("section", { class: "card", "aria-labelledby": "run-output-title" }, h("h2", { id: "run-output-title" }, "Output"), ui.output),
        h("section", { class: "card", "aria-labelledby": "run-log-title" }, h("h2", { id: "run-log-title" }, "Log"), ui.log),
      ),
    );
  }

  function duration() {
    const ms = elapsedMs(state);
    if (ms == null) return "not started";
    return `${TERMINAL_STATUSES.has(state.status) ? "took" : "running for"} ${formatDuration(ms)}`;
  }

  function tick() {
    if (ui.duration && !TERMINAL_STATUSES.has(state.status)) ui.duration.textContent = duration();
  }

  function render() {
    clearTimeout(renderTimer);
    renderTimer = null;
    if (!ui.status || destroyed) return;
    const status = state.status;
    element.dataset.status = status;
    ui.status.textContent = STATUS_TEXT[status] || status;
    ui.status.className = `badge status-${status}`;
    ui.progress.value = state.progress.percent;
    ui.progressText.textContent = state.progress.total
      ? `${state.progress.percent}% (${state.progress.completed}/${state.progress.total} nodes)`
      : `${state.progress.percent}%`;
    ui.duration.textContent = duration();
    ui.events.textContent = `${state.lastSeq} events`;
    ui.cancel.disabled = TERMINAL_STATUSES.has(status);
    ui.follow.hidden = follow || TERMINAL_STATUSES.has(status);
    if (streamState !== "error") {
      ui.stream.textContent =
        TERMINAL_STATUSES.has(status) && streamState !== "live"
          ? "Ended: every event of the run's log is shown."
          : streamState === "live"
            ? "Following the run live."
            : "";
    }
    chart.update(state.nodes);
    renderHuman();
    renderPanel();
    renderOutput();
    renderLog();
    if (state.seqs.length !== shownSeqs) {
      // Written last: whoever reads it sees what is already on the page.
      element.dataset.seqs = state.seqs.join(",");
      element.dataset.lastSeq = String(state.lastSeq);
      element.dataset.duplicates = String(state.duplicates);
      shownSeqs = state.seqs.length;
    }
  }

  function pickNode() {
    if (!follow && selected) return selected;
    const waiting = Object.entries(state.nodes).find(([, n]) => n.human?.waiting);
    return waiting?.[0] || state.current || selected || graph.nodes[0]?.id || null;
  }

  function renderPanel() {
    const id = pickNode();
    chart.select(id);
    if (!id) return;
    const node = graph.nodes.find((n) => n.id === id) || { id, type: "unknown" };
    const ns = state.nodes[id];
    const shown = stateOf(ns);
    const key = JSON.stringify([id, state.status, shown, ns?.attempts, ns?.tools?.length, ns?.human, ns?.output !== undefined, ns?.error, Boolean(ns?.text)]);
    if (key !== panelKey) {
      panelKey = key;
      const parts = [
        h("h3", {}, node.label || node.id),
        h(
          "p",
          { class: "small" },
          h("strong", {}, String(ns?.nodeType || node.type).toLowerCase()),
          " · ",
          h("code", {}, node.id),
          " · ",
          h("span", { class: `state-text state-${shown}`, id: "node-state" }, shown === "waiting" ? "waiting for input" : shown),
        ),
      ];
      if (ns?.attempts > 1) parts.push(h("p", { class: "small muted" }, `started ${ns.attempts} times`));
      if (ns?.durationMs != null) parts.push(h("p", { class: "small muted" }, `took ${formatDuration(ns.durationMs)}`));
      if (ns?.human) {
        parts.push(h("h4", {}, "Asked"), h("p", { class: "prompt" }, ns.human.prompt));
        if (ns.human.response != null) parts.push(h("h4", {}, "Answer"), h("p", {}, ns.human.response));
        else if (ns.human.waiting) parts.push(h("p", { class: "small" }, "Answer it in the box above the graph."));
      }
      if (ns?.text) {
        ui.text = h("pre", { class: "stream", id: "node-text", "aria-label": "LLM text" });
        parts.push(h("h4", {}, shown === "running" ? "LLM text (streaming)" : "LLM text"), ui.text);
      } else ui.text = null;
      if (ns?.tools?.length) {
        parts.push(
          h("h4", {}, "Tool calls"),
          h(
            "ol",
            { class: "tools", id: "node-tools" },
            ns.tools.map((t) =>
              h(
                "li",
                {},
                h("code", {}, `${t.name}(${JSON.stringify(t.arguments ?? {})})`),
                "result" in t ? h("pre", { class: t.isError ? "json alert" : "json" }, show(t.result)) : h("span", { class: "muted small" }, " …"),
              ),
            ),
          ),
        );
      }
      if (ns?.output !== undefined && ns.status === "finished") parts.push(h("h4", {}, "Output"), h("pre", { class: "json", id: "node-output" }, show(ns.output)));
      if (ns?.error) parts.push(h("p", { class: "alert" }, `Error: ${ns.error}`));
      if (ns?.reason && shown === "skipped") parts.push(h("p", { class: "muted" }, `Skipped: ${ns.reason}`));
      if (!ns) parts.push(h("p", { class: "muted small" }, "Not started."));
      if (TERMINAL_STATUSES.has(state.status)) parts.push(retryButton(node));
      replace(ui.panel, parts);
    }
    if (ui.text && ui.text.textContent !== ns.text) {
      const atEnd = ui.text.scrollTop + ui.text.clientHeight >= ui.text.scrollHeight - 4;
      ui.text.textContent = ns.text;
      if (atEnd) ui.text.scrollTop = ui.text.scrollHeight;
    }
  }

  function renderHuman() {
    const waiting = Object.entries(state.nodes).filter(([, n]) => n.human?.waiting);
    const ids = new Set(waiting.map(([id]) => id));
    for (const form of ui.human.querySelectorAll("form[data-node-id]")) {
      if (!ids.has(form.dataset.nodeId)) form.remove();
    }
    for (const [id, n] of waiting) {
      if ([...ui.human.querySelectorAll("form[data-node-id]")].some((f) => f.dataset.nodeId === id)) continue;
      ui.human.append(humanForm(id, n.human.prompt));
    }
  }

  function humanForm(nodeId, prompt) {
    const node = graph.nodes.find((n) => n.id === nodeId);
    const fieldId = `human-answer-${[...nodeId].map((c) => (/[\w-]/.test(c) ? c : "_")).join("")}`;
    const answer = h("textarea", { id: fieldId, rows: 2, required: true, class: "human-answer" });
    const note = h("p", { class: "small", role: "status" });
    const send = h("button", { type: "submit", class: "primary" }, "Send answer");
    const form = h(
      "form",
      { class: "human-form card attention", "data-node-id": nodeId },
      h("h2", {}, `✎ ${node?.label || nodeId} is waiting for your answer`),
      h("p", { class: "prompt" }, prompt),
      h("label", { for: fieldId }, "Your answer"),
      answer,
      h("p", { class: "muted small" }, "Ctrl+Enter sends."),
      send,
      note,
    );
    answer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!answer.value.trim()) {
        note.textContent = "Write an answer first.";
        answer.focus();
        return;
      }
      send.disabled = true;
      note.textContent = "Sending…";
      try {
        const payload = await ctx.api.mutate(ANSWER, { executionId, nodeId, response: answer.value }, "submitHumanInput");
        note.textContent = payload.accepted ? "Sent. The run goes on." : "The run is no longer waiting for this answer.";
        answer.disabled = true;
      } catch (error) {
        note.textContent = error instanceof UserErrors ? error.userErrors.map(describeUserError).join("; ") : error.message;
        send.disabled = false;
      }
    });
    // Bring the question to the keyboard user once, when it appears.
    setTimeout(() => {
      if (!document.activeElement || document.activeElement === document.body) answer.focus();
    }, 0);
    return form;
  }

  function retryButton(node) {
    const note = h("p", { class: "small alert", role: "alert" });
    const button = h("button", { type: "button", id: "run-retry" }, "↻ Retry from this node");
    button.addEventListener("click", async () => {
      button.disabled = true;
      note.textContent = "";
      try {
        const payload = await ctx.api.mutate(RETRY, { id: executionId, fromNodeId: node.id }, "retryExecution");
        ctx.navigate(`#/runs/${payload.execution.id}`);
      } catch (error) {
        note.textContent = error instanceof UserErrors ? error.userErrors.map(describeUserError).join("; ") : error.message;
        button.disabled = false;
      }
    });
    return h(
      "div",
      { class: "retry" },
      button,
      h("p", { class: "muted small" }, "A new run: this node and everything after it run again; the others keep this run's outputs."),
      note,
    );
  }

  function renderOutput() {
    let text;
    ui.output.classList.remove("alert");
    if (state.status === "completed") text = show(state.output);
    else if (state.status === "failed") {
      text = `Failed: ${state.error}`;
      ui.output.classList.add("alert");
    } else if (state.status === "cancelled") text = `Cancelled: ${state.error}`;
    else text = "The output appears here when the run finishes.";
    if (ui.output.textContent !== text) ui.output.textContent = text;
    ui.output.dataset.final = String(TERMINAL_STATUSES.has(state.status));
  }

  function logItem(line) {
    const seqs = line.lastSeq && line.lastSeq !== line.seq ? `#${line.seq}–${line.lastSeq}` : `#${line.seq}`;
    const item = h(
      "li",
      { class: `level-${line.level}`, "data-seq": line.seq },
      h("span", { class: "seq" }, seqs),
      h("time", { datetime: line.at }, clock(line.at)),
      h("span", { class: "level" }, line.level.toUpperCase()),
      line.nodeId ? h("code", { class: "node-ref" }, line.nodeId) : null,
      h("span", { class: "message" }, line.message),
    );
    item.shown = line.lastSeq;
    item.line = line;
    return item;
  }

  function renderLog() {
    const atEnd = ui.log.scrollTop + ui.log.clientHeight >= ui.log.scrollHeight - 4;
    // The last line may be a run of LLM tokens that has grown since it was drawn.
    const last = ui.log.lastElementChild;
    if (last?.line && last.line.lastSeq !== last.shown) last.replaceWith(logItem(last.line));
    const fresh = state.logs.filter((line) => line.seq > loggedUpTo);
    if (fresh.length) {
      ui.log.append(...fresh.map(logItem));
      loggedUpTo = fresh[fresh.length - 1].seq;
    }
    if (atEnd) ui.log.scrollTop = ui.log.scrollHeight;
  }

  async function cancel() {
    ui.cancel.disabled = true;
    try {
      await ctx.api.mutate(CANCEL, { id: executionId }, "cancelExecution");
    } catch (error) {
      ui.stream.textContent = error.message;
      ui.cancel.disabled = false;
    }
  }

  load();
  return {
    element,
    persist,
    destroy() {
      destroyed = true;
      stop?.();
      clearInterval(ticker);
      clearTimeout(renderTimer);
      persist();
    },
  };
}

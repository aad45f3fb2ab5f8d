// A run as the console shows it: a fold of the run's event log, one event at a time in
// `seq` order. Plain data (JSON-serialisable), so it can be saved in sessionStorage and
// a reload goes on from `lastSeq` instead of replaying the log.

const TERMINAL = { run_finished: "completed", run_failed: "failed", run_cancelled: "cancelled" };
const MAX_LOG = 2000;
const SAVED_PREFIX = "agentloom.console.run.";
const SAVED_RUNS = 6;
const VERSION = 1;

export const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

export function initialState(executionId, status = "pending") {
  return {
    version: VERSION,
    executionId,
    lastSeq: 0,
    seqs: [],
    duplicates: 0,
    status: String(status).toLowerCase(),
    startedAt: null,
    finishedAt: null,
    executionTimeMs: null,
    progress: { percent: 0, completed: 0, total: 0, current: null },
    nodes: {},
    current: null,
    logs: [],
    logsDropped: 0,
    tokens: 0,
    output: undefined,
    error: null,
    usage: null,
  };
}

function node(state, id, type) {
  const found = (state.nodes[id] ||= {
    status: "pending",
    nodeType: type || null,
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    text: "",
    tools: [],
    output: undefined,
    error: null,
    reason: null,
    human: null,
  });
  if (type && !found.nodeType) found.nodeType = type;
  return found;
}

/**
 * Apply one event. Returns "applied", "duplicate" (seq already applied: ignored and
 * counted) or "gap" (a seq is missing before it: nothing applied; the caller resubscribes
 * from `lastSeq`).
 */
export function applyEvent(state, event) {
  const seq = Number(event.seq);
  if (seq <= state.lastSeq) {
    state.duplicates += 1;
    return "duplicate";
  }
  if (seq !== state.lastSeq + 1) return "gap";
  state.lastSeq = seq;
  state.seqs.push(seq);
  const type = String(event.type).toLowerCase();
  const data = event.data || {};
  const id = event.nodeId;
  const at = event.timestamp;
  const n = id ? node(state, id, data.node_type) : null;
  const aboutNode = type.startsWith("node_") || type.startsWith("human_");

  switch (aboutNode && !n ? "" : type) {
    case "run_started":
      state.status = "running";
      state.startedAt = at;
      break;
    case "node_started":
      // A node starting again (a loop's next item, or a resumed run's node in flight)
      // shows its latest attempt.
      n.status = "running";
      n.attempts += 1;
      n.startedAt = at;
      n.finishedAt = null;
      n.error = null;
      n.text = "";
      n.tools = [];
      state.current = id;
      break;
    case "node_finished":
      n.status = "finished";
      n.finishedAt = at;
      n.durationMs = data.duration_ms ?? null;
      n.output = data.output;
      break;
    case "node_failed":
      n.status = "failed";
      n.finishedAt = at;
      n.durationMs = data.duration_ms ?? null;
      n.error = data.error || "failed";
      break;
    case "node_skipped":
      n.status = "skipped";
      n.reason = data.reason || null;
      break;
    case "llm_token":
      state.tokens += 1;
      if (n) n.text += data.delta || "";
      break;
    case "llm_reset":
      if (n) n.text = "";
      break;
    case "tool_call":
      if (n) n.tools.push({ id: data.id, name: data.name, arguments: data.arguments });
      break;
    case "tool_result":
      if (n) {
        const call = n.tools.find((t) => t.id === data.id && !("result" in t));
        const entry = call || { id: data.id, name: data.name };
        entry.result = data.result;
        entry.isError = Boolean(data.is_error);
        if (!call) n.tools.push(entry);
      }
      break;
    case "progress":
      state.progress = {
        percent: data.progress ?? state.progress.percent,
        completed: data.completed ?? state.progress.completed,
        total: data.total ?? state.progress.total,
        current: data.current_node ?? null,
      };
      break;
    case "human_input_requested":
      n.human = { prompt: data.prompt || "", waiting: true, response: null };
      break;
    case "human_input_received":
      n.human = { ...(n.human || { prompt: "" }), waiting: false, response: data.response };
      break;
    default:
      if (type in TERMINAL) {
        state.status = TERMINAL[type];
        state.finishedAt = at;
        state.executionTimeMs = data.execution_time_ms ?? null;
        if (type === "run_finished") {
          state.output = data.output;
          state.usage = data.usage || null;
          state.progress = { ...state.progress, percent: 100 };
        } else state.error = data.error || data.reason || type;
        for (const each of Object.values(state.nodes)) {
          if (each.human) each.human.waiting = false;
        }
      }
  }
  const last = state.logs[state.logs.length - 1];
  if (type === "llm_token" && last?.type === "llm_tokens" && last.nodeId === (id || null) && last.lastSeq === seq - 1) {
    // One line per uninterrupted run of tokens: "#14–19 LLM streamed 6 tokens".
    last.lastSeq = seq;
    last.count += 1;
    last.message = `LLM streamed ${last.count} tokens`;
  } else {
    state.logs.push(
      type === "llm_token"
        ? { seq, lastSeq: seq, type: "llm_tokens", nodeId: id || null, at, level: "debug", count: 1, message: "LLM streamed 1 token" }
        : logLine(seq, type, id, at, data),
    );
    if (state.logs.length > MAX_LOG) {
      state.logs.splice(0, state.logs.length - MAX_LOG);
      state.logsDropped += 1;
    }
  }
  return "applied";
}

function short(value, limit = 160) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) return "";
  return text.length > limit ? text.slice(0, limit - 1) + "…" : text;
}

function logLine(seq, type, nodeId, at, data) {
  let level = "info";
  let message;
  switch (type) {
    case "run_started":
      message = `Run started (${data.node_count ?? "?"} nodes)`;
      break;
    case "run_finished":
      message = `Run finished in ${data.execution_time_ms ?? "?"} ms`;
      break;
    case "run_failed":
      level = "error";
      message = `Run failed: ${data.error || ""}`;
      break;
    case "run_cancelled":
      level = "warn";
      message = `Run cancelled: ${data.reason || ""}`;
      break;
    case "node_started":
      message = data.iteration == null ? "Node started" : `Node started (item ${data.iteration})`;
      break;
    case "node_finished":
      message = `Node finished in ${data.duration_ms ?? "?"} ms`;
      break;
    case "node_failed":
      level = "error";
      message = `Node failed: ${data.error || ""}`;
      break;
    case "node_skipped":
      level = "debug";
      message = `Node skipped: ${data.reason || ""}`;
      break;
    case "llm_reset":
      level = "warn";
      message = `LLM call retried (attempt ${data.attempt}): ${data.reason || ""}`;
      break;
    case "tool_call":
      level = "debug";
      message = `Tool call ${data.name}(${short(data.arguments, 100)})`;
      break;
    case "tool_result":
      level = data.is_error ? "warn" : "debug";
      message = `Tool ${data.name} answered: ${short(data.result)}`;
      break;
    case "log":
      level = data.level || "info";
      message = data.message || "";
      break;
    case "progress":
      message = `Progress ${data.progress}% (${data.completed}/${data.total})`;
      break;
    case "human_input_requested":
      level = "warn";
      message = `Waiting for an answer: ${data.prompt || ""}`;
      break;
    case "human_input_received":
      message = `Answered: ${short(data.response)}`;
      break;
    case "run_resumed":
      level = "warn";
      message = `Run resumed from seq ${data.last_seq} (${data.reason || "taken over"})`;
      break;
    case "run_suspended":
      message = `Run suspended (${data.reason || ""}): it goes on when resumed`;
      break;
    default:
      message = `${type} ${short(data)}`;
  }
  return { seq, type, nodeId: nodeId || null, at, level, message };
}

/** Seconds the run has taken, or takes so far. */
export function elapsedMs(state, now = Date.now()) {
  if (state.executionTimeMs != null) return state.executionTimeMs;
  if (!state.startedAt) return null;
  const end = state.finishedAt ? Date.parse(state.finishedAt) : now;
  return end - Date.parse(state.startedAt);
}

// -- saved across reloads (sessionStorage) ------------------------------------------------

export function saveState(state) {
  const key = SAVED_PREFIX + state.executionId;
  try {
    sessionStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), state }));
  } catch {
    // Full storage: forget this run's copy, so a reload replays the log from seq 0
    // rather than resuming from a stale snapshot.
    sessionStorage.removeItem(key);
    return false;
  }
  // Keep the few most recent runs.
  const saved = [];
  for (let i = 0; i < sessionStorage.length; i++) {
    const k = sessionStorage.key(i);
    if (k?.startsWith(SAVED_PREFIX)) {
      try {
        saved.push([k, JSON.parse(sessionStorage.getItem(k)).savedAt || 0]);
      } catch {
        saved.push([k, 0]);
      }
    }
  }
  saved.sort((a, b) => b[1] - a[1]);
  for (const [k] of saved.slice(SAVED_RUNS)) sessionStorage.removeItem(k);
  return true;
}

export function loadState(executionId) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SAVED_PREFIX + executionId) || "null");
    const state = saved?.state;
    if (state?.version === VERSION && state.executionId === executionId) return state;
  } catch {
    // unreadable: start from the log
  }
  return null;
}

export function forgetStates() {
  for (let i = sessionStorage.length - 1; i >= 0; i--) {
    const k = sessionStorage.key(i);
    if (k?.startsWith(SAVED_PREFIX)) sessionStorage.removeItem(k);
  }
}

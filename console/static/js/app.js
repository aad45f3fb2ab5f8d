// The console's entry point: credentials, the shared API and WebSocket clients, and a
// hash router (#/, #/workflows/<id>, #/runs/<id>) so reloads and links keep the view.

import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import { homeView } from "./home.js";
import { runView } from "./run.js";
import { forgetStates } from "./runstate.js";
import { clearSession, loadSession, saveSession } from "./session.js";
import { signInView } from "./signin.js";
import { workflowView } from "./workflow.js";
import { workflowList } from "./workflows.js";
import { Socket } from "./ws.js";

const NODE_TYPES = `query ConsoleNodeTypes { nodeTypes { type description handles } }`;
const CONNECTION_TEXT = {
  connecting: "connecting…",
  live: "● live",
  reconnecting: "reconnecting…",
  offline: "offline: waiting for the network",
  refused: "credentials refused",
  idle: "",
};

const body = document.body;
const endpoint = new URL(body.dataset.graphql, location.href);
const socketUrl = new URL(endpoint);
socketUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

const main = document.getElementById("main");
const sidebar = document.getElementById("sidebar");
const who = document.getElementById("who");
const connection = document.getElementById("connection");

let session = loadSession();
let view = null;
let list = null;

const api = new Api(endpoint.href, () => session?.token ?? null, () => signOut("Your session has ended: sign in again."));
const socket = new Socket(socketUrl.href, () => session?.token ?? null, (state) => {
  connection.textContent = CONNECTION_TEXT[state] ?? state;
  connection.dataset.state = state;
});

const ctx = {
  api,
  socket,
  nodeTypes: new Map(),
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  highlightWorkflow(id) {
    list?.highlight(id);
  },
  signedIn(newSession) {
    session = newSession;
    saveSession(session);
    start();
  },
};

function signOut(notice) {
  // The view goes first: leaving a run saves its state, which must not outlive the session.
  view?.destroy?.();
  view = null;
  session = null;
  clearSession();
  forgetStates();
  socket.reset();
  list = null;
  start(notice);
}

function showWho() {
  if (!session) {
    replace(who);
    return;
  }
  const out = h("button", { type: "button", id: "sign-out", class: "link" }, "Sign out");
  out.addEventListener("click", () => signOut());
  replace(who, h("span", { id: "who-name" }, `${session.username}`), session.method === "apikey" ? " (API key) " : " ", out);
}

function start(notice) {
  showWho();
  body.classList.toggle("signed-out", !session);
  if (!session) {
    sidebar.hidden = true;
    view?.destroy?.();
    const signIn = signInView(ctx, { notice });
    view = signIn;
    replace(main, signIn.element);
    signIn.focus();
    return;
  }
  sidebar.hidden = false;
  list = workflowList(ctx);
  replace(sidebar, list.element);
  list.load();
  api
    .request(NODE_TYPES)
    .then((data) => {
      for (const t of data.nodeTypes) ctx.nodeTypes.set(t.type, t);
    })
    .catch(() => {}); // descriptions only: the console works without them
  route();
}

function route() {
  if (!session) return;
  const [kind, id] = location.hash.replace(/^#\/?/, "").split("/");
  view?.destroy?.();
  document.title = "agentloom console";
  if (kind === "workflows" && id) {
    view = workflowView(ctx, decodeURIComponent(id));
    list?.highlight(decodeURIComponent(id));
  } else if (kind === "runs" && id) {
    view = runView(ctx, decodeURIComponent(id));
  } else {
    view = homeView(ctx);
    list?.highlight(null);
  }
  replace(main, view.element);
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
// Saved on the way out, so a reload continues from the last seq rendered.
window.addEventListener("pagehide", () => view?.persist?.());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") view?.persist?.();
});

start();

// A small client of the `graphql-transport-ws` protocol (the one the `graphql-ws` npm
// package speaks), enough for the console: one socket shared by every subscription,
// `connection_init` carrying the bearer token, ping/pong keep-alive, and reconnection.
//
// After a reconnect every live subscription is sent again with its `variables()`
// evaluated then, so a run's stream asks for `afterSeq` = the last seq it rendered and
// the server replays exactly what was missed: no gap, no duplicate.

const PROTOCOL = "graphql-transport-ws";
const PING_EVERY_MS = 10000;
const PONG_WITHIN_MS = 5000;
const IDLE_CLOSE_MS = 1500;
const MAX_BACKOFF_MS = 5000;
const OFFLINE_RETRY_MS = 15000;
// The server closes with 4403 when connection_init's credentials are refused.
const FORBIDDEN = 4403;
const UNAUTHORIZED = 4401;

export class Socket {
  /**
   * @param {string} url ws:// or wss:// URL of /graphql
   * @param {() => string | null} token the bearer token for connection_init
   * @param {(state: string) => void} onState connecting, live, reconnecting, offline,
   *   idle or refused: for the page's connection indicator
   */
  constructor(url, token, onState = () => {}) {
    this.url = url;
    this.token = token;
    this.onState = onState;
    this.subs = new Map();
    this.nextKey = 1;
    this.nextWireId = 1;
    this.ws = null;
    this.acked = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.idleTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.state = "idle";
    this.reconnects = 0;
    window.addEventListener("offline", () => this.lost("offline"));
    window.addEventListener("online", () => {
      if (this.subs.size && !this.ws) this.connectNow();
    });
  }

  /**
   * Start a subscription. `variables` is a function, called at every (re)subscribe.
   * @returns {() => void} stops it
   */
  subscribe({ query, variables, next, error, complete }) {
    const key = this.nextKey++;
    const sub = { key, query, variables, next, error, complete, wireId: null };
    this.subs.set(key, sub);
    clearTimeout(this.idleTimer);
    if (this.acked) this.sendSubscribe(sub);
    else if (!this.ws && !this.retryTimer) this.connectNow();
    return () => this.stop(key);
  }

  stop(key) {
    const sub = this.subs.get(key);
    if (!sub) return;
    this.subs.delete(key);
    if (sub.wireId && this.acked) this.send({ id: sub.wireId, type: "complete" });
    this.closeWhenIdle();
  }

  /** Forget every subscription and close the socket (signing out). */
  reset() {
    this.subs.clear();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.drop();
    this.setState("idle");
  }

  closeWhenIdle() {
    if (this.subs.size) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (!this.subs.size) {
        this.drop();
        this.setState("idle");
      }
    }, IDLE_CLOSE_MS);
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url, PROTOCOL);
    this.ws = ws;
    ws.onopen = () => {
      const token = this.token();
      const payload = token ? { Authorization: `Bearer ${token}` } : {};
      this.send({ type: "connection_init", payload });
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => {
      if (this.ws === ws) this.closed(event.code, event.reason);
    };
    ws.onerror = () => {}; // a close event follows, which decides what to do
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  sendSubscribe(sub) {
    sub.wireId = String(this.nextWireId++);
    this.send({
      id: sub.wireId,
      type: "subscribe",
      payload: { query: sub.query, variables: sub.variables() },
    });
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    this.alive();
    if (message.type === "connection_ack") {
      this.acked = true;
      if (this.attempt) this.reconnects += 1;
      this.attempt = 0;
      this.setState("live");
      for (const sub of this.subs.values()) this.sendSubscribe(sub);
      this.keepAlive();
      return;
    }
    if (message.type === "ping") {
      this.send({ type: "pong" });
      return;
    }
    if (message.type === "pong") return;
    const sub = [...this.subs.values()].find((s) => s.wireId === message.id);
    if (!sub) return;
    if (message.type === "next") {
      const payload = message.payload || {};
      if (payload.errors?.length && !payload.data) {
        this.subs.delete(sub.key);
        sub.error?.(payload.errors);
      } else sub.next?.(payload.data, payload.errors);
    } else if (message.type === "error") {
      this.subs.delete(sub.key);
      sub.error?.(Array.isArray(message.payload) ? message.payload : [message.payload]);
      this.closeWhenIdle();
    } else if (message.type === "complete") {
      this.subs.delete(sub.key);
      sub.complete?.();
      this.closeWhenIdle();
    }
  }

  keepAlive() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      this.send({ type: "ping" });
      clearTimeout(this.pongTimer);
      // Any message counts as a sign of life; none at all means the path is dead
      // (a lost network need not close the socket for minutes).
      this.pongTimer = setTimeout(() => this.lost("no answer to ping"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  alive() {
    clearTimeout(this.pongTimer);
  }

  /** Stop using the current socket now, without waiting for its close handshake. */
  lost(why) {
    if (!this.ws) return;
    const code = why === "offline" ? "offline" : null;
    this.drop();
    this.closed(code, why);
  }

  drop() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    const ws = this.ws;
    this.ws = null;
    this.acked = false;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
  }

  closed(code, reason) {
    this.ws = null;
    this.acked = false;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    for (const sub of this.subs.values()) sub.wireId = null;
    if (code === FORBIDDEN || code === UNAUTHORIZED) {
      const subs = [...this.subs.values()];
      this.subs.clear();
      this.setState("refused");
      for (const sub of subs) sub.error?.([{ message: reason || "The credentials were refused." }]);
      return;
    }
    if (!this.subs.size) {
      this.setState("idle");
      return;
    }
    if (code === "offline" || navigator.onLine === false) {
      // Wait for the browser's `online` event (or retry slowly in case it never comes).
      this.attempt += 1;
      this.setState("offline");
      this.retryTimer = setTimeout(() => this.connectNow(), OFFLINE_RETRY_MS);
      return;
    }
    this.attempt += 1;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** (this.attempt - 1));
    this.setState("reconnecting");
    this.retryTimer = setTimeout(() => this.connectNow(), delay * (0.75 + Math.random() / 2));
  }
}

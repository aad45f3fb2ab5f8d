"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

The browser can reach loopback only: every host name resolves to nothing and every
other address goes to a dead proxy, so a page that needs a CDN fails to render. Each
page also records every request it makes, uncaught exceptions and console errors, so
a test can assert that all of them stayed on the server.

One websocket to the browser, pages attached in flat mode (`sessionId` per message);
a command reads messages until its answer comes, handing events to their page.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

BINARIES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


class BrowserError(AssertionError):
    """A page did not do what the test waited for; the message says what it saw."""


@dataclass
class Page:
    browser: Browser
    session_id: str
    requests: list[str] = field(default_factory=list)
    headers: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    """The request headers the page sent, by URL."""
    blocked: dict[str, str] = field(default_factory=dict)
    """Requests the browser refused before sending (URL: reason, e.g. `csp`)."""
    urls: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    ws_sent: list[str] = field(default_factory=list)
    """Text frames the page sent over its WebSockets, in order."""
    loaded: bool = False

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session_id=self.session_id)

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            request = params["request"]
            self.urls[str(params["requestId"])] = str(request["url"])
            self.requests.append(str(request["url"]))
            self.headers.setdefault(str(request["url"]), []).append(dict(request["headers"]))
        elif method == "Network.webSocketCreated":
            self.requests.append(str(params["url"]))
        elif method == "Network.webSocketFrameSent":
            self.ws_sent.append(str(params["response"].get("payloadData", "")))
        elif method == "Network.loadingFailed" and params.get("blockedReason"):
            url = self.urls.get(str(params["requestId"]), "?")
            self.blocked[url] = str(params["blockedReason"])
        elif method == "Page.loadEventFired":
            self.loaded = True
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            exception = details.get("exception", {})
            self.errors.append(str(exception.get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"{entry.get('text')} {entry.get('url', '')}".strip())

    def goto(self, url: str, timeout: float = 20.0) -> None:
        self.loaded = False
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"navigating to {url}: {answer['errorText']}")
        self.browser.pump_until(lambda: self.loaded, timeout, f"the load event of {url}")

    def follow(self, selector: str, timeout: float = 20.0) -> None:
        """Click a link and wait for the page it leads to (its load event)."""
        self.loaded = False
        self.click(selector)
        self.browser.pump_until(lambda: self.loaded, timeout, f"the page {selector} leads to")

    def evaluate(self, expression: str, *, timeout: float = 20.0) -> Any:
        """The value of `expression` (promises awaited), or BrowserError on a JS exception."""
        answer = self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
                "timeout": int(timeout * 1000),
            },
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]}...: {text}")
        return answer["result"].get("value")

    def wait_for(self, predicate: str, *, timeout: float = 20.0, what: str = "") -> Any:
        """Wait, inside the page, until the JS expression `predicate` is truthy; its value.

        Re-checked on every DOM mutation and at least every 50 ms (some state, like a
        CodeMirror value, changes without a mutation the observer would see first).
        """
        script = f"""new Promise((resolve, reject) => {{
  const check = () => {{ try {{ return ({predicate}); }} catch (e) {{ return undefined; }} }};
  // An element (or any object) cannot come back by value: it resolves as `true`.
  const done = (value) => {{ observer.disconnect(); clearInterval(tick); clearTimeout(limit);
                             resolve(typeof value === "object" ? true : value); }};
  const test = () => {{ const value = check(); if (value) done(value); }};
  const observer = new MutationObserver(test);
  const tick = setInterval(test, 50);
  const limit = setTimeout(() => {{ observer.disconnect(); clearInterval(tick);
      reject(new Error("timed out")); }}, {int(timeout * 1000)});
  observer.observe(document, {{subtree: true, childList: true, attributes: true,
                               characterData: true}});
  test();
}})"""
        try:
            return self.evaluate(script, timeout=timeout + 5)
        except BrowserError as exc:
            raise BrowserError(
                f"waited {timeout}s for {what or predicate}; page errors: {self.errors}; "
                f"requests: {[url[:120] for url in self.requests]}"
            ) from exc

    def click(self, selector: str) -> None:
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.scrollIntoView(); e.click(); return true; })()"
        )
        if not found:
            raise BrowserError(f"nothing matches {selector}")

    def type_into(self, selector: str, text: str) -> None:
        """Focus an input and type, as a user would (React sees real input events)."""
        focused = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.focus(); return document.activeElement === e; })()"
        )
        if not focused:
            raise BrowserError(f"cannot focus {selector}")
        self.send("Input.insertText", {"text": text})

    def off_origin(self, origin: str) -> list[str]:
        """Requests that went anywhere but `origin` (data: and blob: URLs stay in the page)."""
        local = (origin + "/", origin.replace("http://", "ws://") + "/", "data:", "blob:")
        return [url for url in self.requests if not url.startswith(local) and url != origin]


class Browser:
    def __init__(self, binary: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="agentloom-chromium-"))
        self.profile = self.root / "profile"
        self.log = (self.root / "chromium.log").open("wb")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--mute-audio",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                # Offline but for this machine: names resolve to nothing, and any address
                # but loopback (which Chromium never proxies) goes to a dead proxy.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--proxy-server=http://127.0.0.1:9",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.flush()
                output = (self.root / "chromium.log").read_text(errors="replace")[-2000:]
                self.close()
                raise RuntimeError(f"chromium did not start: {output}")
            time.sleep(0.02)
        self.startup_s = time.monotonic() - started
        port, path = port_file.read_text().splitlines()[:2]
        self.ws: ClientConnection = connect(
            f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10
        )
        self.next_id = 0
        self.pages: dict[str, Page] = {}

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session_id: str | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self.ws.send(json.dumps(message))
        wanted = self.next_id
        answer: dict[str, Any] = {}

        def answered(msg: dict[str, Any]) -> bool:
            if msg.get("id") == wanted:
                answer.update(msg)
                return True
            return False

        self.pump_until(lambda: bool(answer), 60, method, on_message=answered)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def pump_until(
        self,
        done: Any,
        timeout: float,
        what: str,
        on_message: Any = None,
    ) -> None:
        """Read messages, dispatching events to pages, until `done()` holds."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"timed out after {timeout}s waiting for {what}")
            try:
                # Briefly: `done()` may come true without a message from the browser (a
                # condition on the server), and the browser may stay silent for long.
                raw = self.ws.recv(timeout=min(left, 0.05))
            except TimeoutError:
                continue
            msg = json.loads(raw)
            if on_message is not None and on_message(msg):
                continue
            page = self.pages.get(msg.get("sessionId", ""))
            if page is not None and "method" in msg:
                page.on_event(msg["method"], msg.get("params", {}))

    @contextmanager
    def page(self) -> Iterator[Page]:
        """A fresh tab with network, page, runtime and log events on."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(browser=self, session_id=session["sessionId"])
        self.pages[page.session_id] = page
        try:
            for domain in ("Network", "Page", "Runtime", "Log"):
                page.send(f"{domain}.enable")
            yield page
        finally:
            self.pages.pop(page.session_id, None)
            self.send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.process.poll() is None:
            # The browser's own session: its renderers and helpers go with it.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

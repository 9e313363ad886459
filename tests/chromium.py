"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no Python
dependency, no port, no network. Used by tests/test_html.py to load a report, read its DOM, collect console
errors and take screenshots.

The protocol on the pipe: JSON messages separated by NUL bytes; the browser reads commands on its fd 3 and
writes replies and events on its fd 4. Page commands go to a page session (Target.attachToTarget, flatten).
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe")
_TRAMPOLINE = """import os, sys
r, w = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))  # fresh numbers: neither is 3 or 4 any more
os.dup2(r, 3); os.dup2(w, 4)
os.set_inheritable(3, True); os.set_inheritable(4, True)  # dup2 onto itself (r == 3) keeps close-on-exec
os.execv(sys.argv[3], sys.argv[3:])
"""
TIMEOUT = 30.0  # seconds for one reply: a guard against a hung browser, not a performance assertion


def find() -> str | None:
    """The Chromium binary: $MLAUDIT_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    env = os.environ.get("MLAUDIT_CHROMIUM")
    if env:
        return env
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One browser with a fresh profile and one page; events (console, log, exceptions) are kept in `events`."""

    def __init__(self, binary: str):
        self._profile = tempfile.TemporaryDirectory(prefix="mlaudit-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # a small Python trampoline moves the two pipe ends to fds 3 and 4, where --remote-debugging-pipe expects
        # them, then execs the browser (in its own process: no preexec_fn in a possibly threaded test run)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_browser_r), str(from_browser_w), binary, *FLAGS,
             f"--user-data-dir={self._profile.name}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("MLAUDIT_CHROMIUM_LOG") else subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=self.session)

    # --- the pipe

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        for seen in self.events:
            if seen.get("method") == event:
                return seen
        while True:
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == event:
                    return message

    # --- what tests use

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=self.session)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session=self.session)

    def screenshot(self) -> bytes:
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                         session=self.session)["data"]
        return base64.b64decode(data)

    def pdf(self) -> bytes:
        return base64.b64decode(self.call("Page.printToPDF", {}, session=self.session)["data"])

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors (CSP violations, failed loads) so far."""
        out = []
        for e in self.events:
            params = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {params.get('exceptionDetails')}")
            elif e["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                out.append(f"log: {params['entry'].get('text')}")
        return out

    def close(self) -> None:
        with contextlib.suppress(BrowserError):  # the browser may close the pipe before it answers
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

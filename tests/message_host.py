"""A customer's site showing a Braze Custom Code message, as Braze's Web SDK does, for the
channel tests: a tiny HTTP server of its own (another origin than Sounding's) whose page puts
the message HTML into an `<iframe srcdoc>` with `<base target="_parent">`, then sets
`window.brazeBridge` in that document and dispatches `ab.BridgeReady`.

The bridge is our own stand-in (Braze's SDK may not be copied): it records every call, with
the number of arguments, in the site's `window.bridgeCalls`; `closeMessage()` removes the
message as the SDK does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sounding.collect import signatures
from sounding.destinations.braze.channels.framed import LANGUAGE_TAG
from sounding.destinations.braze.signing import liquid_signature

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Customer site</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/site.css"></head>
<body><main><h1>Welcome back</h1><p>Your dashboard.</p><div id="placement"></div></main>
<script src="/site.js"></script></body>
</html>
"""
CSS = """
body{margin:0;font:16px/1.4 system-ui,sans-serif}
main{padding:1rem}
iframe.inapp{position:fixed;inset:0;width:100%;height:100%;border:0}
iframe.banner{display:block;width:100%;border:0}
"""
SCRIPT = """
window.bridgeCalls = [];
fetch("/message.json").then(function (r) { return r.json(); }).then(function (message) {
  var frame = document.createElement("iframe");
  frame.className = message.kind;
  frame.title = "Message";
  frame.srcdoc = message.html.replace("<head>", '<head><base target="_parent">');
  frame.addEventListener("load", function () {
    var w = frame.contentWindow;
    function record(name) {
      return function () {
        window.bridgeCalls.push({ call: name, args: Array.prototype.slice.call(arguments) });
        if (name === "closeMessage") frame.remove();
      };
    }
    w.brazeBridge = { logClick: record("logClick"), closeMessage: record("closeMessage") };
    w.dispatchEvent(new w.Event("ab.BridgeReady"));
    if (message.kind === "banner") {
      // A banner's placement takes the height of its content.
      new ResizeObserver(function () {
        frame.style.height = Math.ceil(w.document.body.getBoundingClientRect().height) + "px";
      }).observe(w.document.body);
    }
  }, { once: true });
  var where = message.kind === "banner" ? document.getElementById("placement") : document.body;
  where.appendChild(frame);
});
"""


def render_liquid(html: str, braze_id: str, secret: str | None = None, language: str = "") -> str:
    """The message as Braze renders it for one user: the tags the snippets use, replaced."""
    rendered = html.replace("{{${braze_id}}}", braze_id).replace(LANGUAGE_TAG, language)
    if secret is not None:
        signed = signatures.signature(secret.encode(), f"braze_id:{braze_id}")
        rendered = rendered.replace(liquid_signature("braze_id", secret), signed)
    assert "{{" not in rendered and "{%" not in rendered, "a Liquid tag left unrendered"
    return rendered


class Site:
    """The running site: `show(kind, html)` sets the message its page shows."""

    def __init__(self) -> None:
        self.message = {"kind": "inapp", "html": ""}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                bodies = {
                    "/": ("text/html", PAGE),
                    "/site.css": ("text/css", CSS),
                    "/site.js": ("text/javascript", SCRIPT),
                    "/message.json": ("application/json", json.dumps(site.message)),
                }
                kind, text = bodies.get(self.path, ("text/plain", ""))
                body = text.encode()
                self.send_response(200 if text else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def show(self, kind: str, html: str) -> None:
        self.message = {"kind": kind, "html": html}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def customer_site() -> Iterator[Site]:
    site = Site()
    try:
        yield site
    finally:
        site.stop()


def bridge_calls(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("window.bridgeCalls")

"""What Sounding's local stand-ins share: each destination's server for trying it out (a
`sounding` command) is a plain threaded HTTP server, run without Django.

A `LocalServer` knows its open connections, so stopping it ends keep-alive connections too
and no client talks to a stopped server. A `LocalHandler` reads a body within a size limit
(still reading a larger one, so the client sees the refusal on a usable connection) and writes
whole answers; each subclass routes in `_dispatch`.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO


class Unreadable(Exception):
    """A body the server will not read: answered with `status`, and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64
    # Once bound, the AF_INET socket's own (host, port): never the bytes host the base allows.
    server_address: tuple[str, int]

    def __init__(self, address: tuple[str, int], handler: type[LocalHandler]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def connection_opened(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(sock)

    def connection_closed(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(sock)

    def close_connections(self) -> None:
        """End keep-alive connections too, so no client talks to a stopped server."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.close_connections()
        self.server_close()


class LocalHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""
    # An idle keep-alive connection is closed after this long: clients pool their
    # connections, and must not mistake an early close for a dropped request.
    timeout = 300
    # Headers and body go out in two writes; with Nagle's algorithm the second one waits for
    # the client's delayed ACK (~40 ms), capping a keep-alive client at ~25 requests/s.
    disable_nagle_algorithm = True
    max_body_bytes = 1 << 20
    server: LocalServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.connection_closed(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        raise NotImplementedError

    def _read_body(self) -> bytes | None:
        """The body, or None when over the size limit (read anyway, so that the client gets
        to see the 413 and the connection stays usable)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise Unreadable(411, "Send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise Unreadable(400, "Invalid Content-Length")
        if length <= self.max_body_bytes:
            return self.rfile.read(length)
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)
        return None

    def _send(
        self,
        status: int,
        data: bytes,
        content_type: str | None,
        headers: dict[str, str] | None = None,
    ) -> bool:
        """Write a whole response; False when the client was gone."""
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return False
        return True


def serve_until_stopped(server: LocalServer, banner: str, out: TextIO = sys.stdout) -> None:
    """Print `banner`, then serve until KeyboardInterrupt or SIGTERM, and stop cleanly."""

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever, which runs on this very thread: ask from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Signal handlers can only be installed from the main thread.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if in_main else None
    print(banner, file=out, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

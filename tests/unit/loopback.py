"""An HTTP API on loopback: the server under the fakes of the HTTP APIs the functions call.

A fake subclasses ``LoopbackServer`` and answers ``respond(path, headers, body)`` with a status,
extra headers and a payload (bytes or text as they are, anything else as JSON); this class serves
it on 127.0.0.1 on a free port, in a thread, for the length of a ``with`` block. ``Unanswering`` is
an endpoint that accepts connections and never answers.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer:
    content_type = "application/json"

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, payload = fake.respond(self.path, headers, body)
                if isinstance(payload, str):
                    payload = payload.encode("utf-8")
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", fake.content_type)
                self.send_header("content-length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


class Unanswering:
    """A TCP endpoint on loopback that accepts every connection and never answers (a hung service).

    ``origin`` is its URL; the connections are held open for the length of the ``with`` block.
    """

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.connections = 0

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed at the end of the block
                return
            self.connections += 1
            self._held.append(connection)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()

    @property
    def origin(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

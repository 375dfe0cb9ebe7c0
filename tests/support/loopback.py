"""Serving a fake HTTP API on 127.0.0.1 from a daemon thread, as the test servers do."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    #: Connections waiting to be accepted: the default 5 resets a client's burst of
    #: concurrent calls (a bench's 32 in flight) before the server sees them.
    request_queue_size = 256


def serve(handler: type[BaseHTTPRequestHandler], **bound: object) -> ThreadingHTTPServer:
    """A server on a free loopback port answering with `handler`, whose class attributes
    `bound` (the fake server's state) each request reads; already serving."""
    httpd = _Server(("127.0.0.1", 0), type(handler.__name__, (handler,), bound))
    httpd.daemon_threads = True
    serve_forever = httpd.serve_forever
    threading.Thread(target=serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def stop(httpd: ThreadingHTTPServer | None) -> None:
    """Stop serving and free the port."""
    assert httpd is not None, "the server was never started"
    httpd.shutdown()
    httpd.server_close()

"""A slow upstream HTTP API on loopback: every request is answered after a fixed delay.

Run as its own process (``python upstream.py --port P --delay 0.05``) so that serving
requests does not share a GIL with the driver. gevent's WSGI server answers hundreds of
concurrent requests from one process without a thread per connection.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any


def make_app(delay: float) -> Callable[..., Iterable[bytes]]:
    import gevent

    body = b'{"price": 42}'

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        gevent.sleep(delay)
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    from gevent.pywsgi import WSGIServer

    server = WSGIServer(("127.0.0.1", args.port), make_app(args.delay), log=None, backlog=1024)
    server.serve_forever()


if __name__ == "__main__":
    main()

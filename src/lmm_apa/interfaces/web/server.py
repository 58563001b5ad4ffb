"""Run the app with uvicorn: in the foreground (`lmm-apa serve`) or in a background thread on a free
loopback port (browser tests, the load check)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def run(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    # One worker process: the model is loaded once and requests queue for it (see gate.py).
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)


@contextmanager
def serve_in_background(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 120.0
) -> Iterator[str]:
    """Serve `app` from a daemon thread; yields its base URL once startup (model load) is done."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))  # port 0: the OS picks a free one, with no race between pick and bind
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the web server failed to start (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the web server did not start within {startup_timeout:g} s")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

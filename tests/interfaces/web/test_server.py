"""Serving an app from a background thread on a free loopback port."""

import contextlib
import urllib.error
import urllib.request

import pytest
from fastapi import FastAPI

from lmm_apa.interfaces.web import server
from lmm_apa.interfaces.web.server import serve_in_background


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def test_the_app_answers_on_its_port_until_the_block_ends():
    app = FastAPI()

    @app.get("/ping")
    def ping():
        return {"pong": True}

    with serve_in_background(app) as url:
        assert url.startswith("http://127.0.0.1:")
        assert _get(url + "/ping") == '{"pong":true}'
    with pytest.raises(urllib.error.URLError):
        _get(url + "/ping")


def test_a_startup_that_fails_is_an_error_not_a_hang():
    @contextlib.asynccontextmanager
    async def lifespan(_):
        raise RuntimeError("model missing")
        yield

    with pytest.raises(RuntimeError, match="failed to start"):
        with serve_in_background(FastAPI(lifespan=lifespan), startup_timeout=20):
            pass


def test_run_uses_one_worker(monkeypatch):
    seen = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: seen.update(kw))
    server.run(FastAPI(), port=9000, log_level="warning")
    assert seen == {"host": "127.0.0.1", "port": 9000, "log_level": "warning", "workers": 1}

"""Concurrent requests over real HTTP (uvicorn on a loopback port): one scoring at a time, a bounded
queue, clean 503 refusals with Retry-After, nothing hangs."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lmm_apa.interfaces.web.gate import QueueFull, ScoringGate
from lmm_apa.interfaces.web.server import serve_in_background
from tests.interfaces.web.scorer_double import EnergyScorer


def _fire(url: str, audio: bytes, n: int) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        files = {"audio": ("bear.flac", audio, "audio/flac")}
        return httpx.post(f"{url}/score", files=files, data={"text": "WE CALL IT BEAR"}, timeout=30)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_requests_are_scored_one_at_a_time(make_app, bear_flac):
    scorer = EnergyScorer(delay=0.1)
    with serve_in_background(make_app(scorer, max_queue=8)) as url:
        responses = _fire(url, bear_flac.read_bytes(), 6)
        health = httpx.get(f"{url}/health").json()
    assert [r.status_code for r in responses] == [200] * 6
    assert scorer.calls == 6
    assert scorer.max_concurrent == 1  # the model was never entered twice at once
    assert health["in_flight"] == 0 and health["waiting"] == 0


def test_requests_beyond_the_queue_are_refused_with_retry_after(make_app, bear_flac):
    scorer = EnergyScorer(delay=1.0)
    with serve_in_background(make_app(scorer, max_queue=1)) as url:
        responses = _fire(url, bear_flac.read_bytes(), 5)
    codes = sorted(r.status_code for r in responses)
    # One scoring + one waiting are admitted; the rest are refused at once, not held.
    assert codes.count(200) >= 2 and codes.count(503) >= 1 and set(codes) == {200, 503}, codes
    for r in responses:
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "busy"
            assert int(r.headers["Retry-After"]) >= 1
            assert r.elapsed.total_seconds() < 0.9  # refused at once, not after a scoring (1 s)
    assert scorer.max_concurrent == 1


def test_a_request_that_waits_too_long_is_refused(make_app, bear_flac):
    scorer = EnergyScorer(delay=0.8)
    with serve_in_background(make_app(scorer, max_queue=4, queue_timeout=0.2)) as url:
        responses = _fire(url, bear_flac.read_bytes(), 2)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 503], codes
    refused = next(r for r in responses if r.status_code == 503)
    assert "waited 0.2 s" in refused.json()["error"]["message"]


def test_gate_admits_one_running_plus_max_queue():
    asyncio.run(_gate_admits())


async def _gate_admits() -> None:
    gate = ScoringGate(max_queue=2)
    for _ in range(3):
        gate.admit()
    with pytest.raises(QueueFull) as e:
        gate.admit()
    assert e.value.retry_after >= 3  # three ahead, at the initial guess of 1 s each
    gate.release()
    gate.admit()  # a place freed up
    result, seconds = await gate.run(lambda: 41 + 1)
    assert result == 42 and seconds >= 0
    gate.shutdown()

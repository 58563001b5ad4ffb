"""Dynamic batching: requests that wait together are scored together, each answered on its own."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lmm_apa.errors import LexiconError
from lmm_apa.interfaces.web.gate import QueueFull, ScoringGate
from lmm_apa.interfaces.web.server import serve_in_background
from tests.interfaces.web.scorer_double import EnergyScorer

SENTENCES = ("WE CALL IT BEAR", "TOM GIVES UP BOXING", "KATE GOT THE TOMATO", "MANDY HAS A BIG ARM")


class _Result:
    def __init__(self, utterance):
        self.utterance = utterance

    def to_json(self):
        return {**self.utterance.to_corpus_dict(), "uncertainty": {"accuracy": 0.5, "words": []}}


class BatchingScorer(EnergyScorer):
    """`assess_texts` as the real scorer has it: one `delay` per batch, whatever its size; a text
    with TOMATO fails on its own (as an unknown word would)."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.batch_sizes: list[int] = []
        self.in_batch = 0
        self.max_in_batch_calls = 0
        self._calls = threading.Lock()

    def assess_texts(self, items):
        with self._calls:
            self.in_batch += 1
            self.max_in_batch_calls = max(self.max_in_batch_calls, self.in_batch)
        try:
            self.batch_sizes.append(len(items))
            time.sleep(self.delay)
            out = []
            for wave, text, utt_id in items:
                out.append(LexiconError("'TOMATO' is not in the lexicon") if "TOMATO" in text else None)
                if out[-1] is None:
                    out[-1] = _Result(self._score(wave, text, utt_id))
            return out
        finally:
            with self._calls:
                self.in_batch -= 1


def _fire(url: str, audio: bytes, texts: list[str]) -> list[httpx.Response]:
    def one(text: str) -> httpx.Response:
        files = {"audio": ("bear.flac", audio, "audio/flac")}
        return httpx.post(f"{url}/score", files=files, data={"text": text}, timeout=30)

    with ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(one, texts))


def test_concurrent_requests_are_scored_in_batches(make_app, bear_flac):
    scorer = BatchingScorer(delay=0.5)
    texts = [SENTENCES[i % 4] for i in range(12)]
    with serve_in_background(make_app(scorer, max_queue=16, max_batch=8)) as url:
        start = time.perf_counter()
        responses = _fire(url, bear_flac.read_bytes(), texts)
        wall = time.perf_counter() - start
        health = httpx.get(f"{url}/health").json()
    codes = [r.status_code for r in responses]
    assert codes == [422 if "TOMATO" in t else 200 for t in texts], codes
    for r, text in zip(responses, texts, strict=True):
        if r.status_code == 200:  # each answer is its own request's
            assert r.json()["text"] == text and r.json()["uncertainty"]["accuracy"] == 0.5
        else:
            assert r.json()["error"]["code"] == "unknown_word"
    assert sum(scorer.batch_sizes) == 12 and max(scorer.batch_sizes) > 1 and max(scorer.batch_sizes) <= 8
    assert scorer.max_in_batch_calls == 1  # the model was never entered twice at once
    assert wall < 12 * 0.5  # one at a time would take 6 s
    assert health["in_flight"] == 0 and health["waiting"] == 0


def test_a_scorer_without_batches_is_called_one_request_at_a_time(make_app, bear_flac):
    scorer = EnergyScorer(delay=0.1)
    with serve_in_background(make_app(scorer, max_queue=8, max_batch=8)) as url:
        responses = _fire(url, bear_flac.read_bytes(), ["WE CALL IT BEAR"] * 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert scorer.calls == 4 and scorer.max_concurrent == 1


def test_gate_batches_what_waits_and_bounds_the_waiting():
    asyncio.run(_gate_batches())


async def _gate_batches() -> None:
    gate = ScoringGate(max_queue=2, max_batch=3, batch_window=0.05)
    seen: list[list[int]] = []

    def batch(items):
        seen.append(list(items))
        time.sleep(0.2)
        return [ValueError("odd") if i % 2 else i * 10 for i in items]

    for _ in range(3):
        gate.admit()
    with pytest.raises(QueueFull):  # a job of its own: one to score + max_queue waiting
        gate.admit()
    gate.admit(batched=True)  # requests that batch: the next batch (3) + max_queue
    gate.admit(batched=True)
    with pytest.raises(QueueFull):
        gate.admit(batched=True)
    tasks = [asyncio.create_task(gate.run_batched(batch, i)) for i in range(3)]
    await asyncio.sleep(0.1)  # the window has passed: the three are being scored together
    assert gate.waiting == 2 and seen == [[0, 1, 2]]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == (0, results[0][1]) and results[2][0] == 20
    assert isinstance(results[1], ValueError)  # its own error, the others unharmed
    for _ in range(5):
        gate.release()
    assert gate.in_flight == 0
    gate.shutdown()


def test_a_batch_that_fails_as_a_whole_is_retried_item_by_item():
    asyncio.run(_retried())


async def _retried() -> None:
    gate = ScoringGate(max_queue=4, max_batch=4, batch_window=0.05)

    def batch(items):
        if 3 in items:
            raise RuntimeError("bad item in the batch")
        return [i + 1 for i in items]

    results = await asyncio.gather(*(gate.run_batched(batch, i) for i in range(4)), return_exceptions=True)
    assert [r[0] for r in results[:3]] == [1, 2, 3] and isinstance(results[3], RuntimeError)
    assert gate.batches[0] == 4
    gate.shutdown()


def test_a_burst_admits_a_batch_plus_the_queue_and_refuses_the_rest_at_once(make_app, bear_flac):
    scorer = BatchingScorer(delay=2.0)
    with serve_in_background(make_app(scorer, max_queue=2, max_batch=4)) as url:
        responses = _fire(url, bear_flac.read_bytes(), ["WE CALL IT BEAR"] * 10)
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 4 + 2 and codes.count(503) == 4, codes  # one batch of 4 + 2 waiting
    for r in responses:
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "busy" and int(r.headers["Retry-After"]) >= 1
            assert r.elapsed.total_seconds() < 1.5  # refused at once, not after a batch (2 s)

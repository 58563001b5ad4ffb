"""The app with the real scorer (`lmm_apa.infer.scorer`) on a tiny random model of the default design
(CTranslate2 Whisper-base encoder + 2-layer Qwen2): in-process, and through `lmm-apa serve`.

The scores of a random model mean nothing; what is checked is the plumbing: one load at startup,
the corpus schema with the scorer's uncertainty, and the CLI serving it over HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient

from lmm_apa.data.lexicon import canonical_words
from lmm_apa.errors import ModelError
from lmm_apa.interfaces.web import create_app

TEXT = "WE CALL IT BEAR"
# The `lmm-apa` entry point, run by this very interpreter (no reliance on PATH).
LMM_APA = [sys.executable, "-c", "from lmm_apa.interfaces.cli import main; main()"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from lmm_apa.models.testing import tiny_qwen2_audio

    try:
        return tiny_qwen2_audio(tmp_path_factory.mktemp("tiny") / "model", design="default")
    except ModelError as e:  # a model part package is not installed
        pytest.skip(str(e))


def test_real_scorer_in_process(tiny_model, bear_flac):
    from lmm_apa.infer.scorer import load_scorer

    loads = []

    def factory():
        loads.append(1)
        return load_scorer(str(tiny_model))

    with TestClient(create_app(factory, model_name="tiny")) as c:
        assert c.get("/health").json()["model_loaded"] is True
        responses = [
            c.post("/score", files={"audio": ("bear.flac", bear_flac.read_bytes())}, data={"text": TEXT})
            for _ in range(2)
        ]
        spec = c.get("/openapi.json").json()
    assert len(loads) == 1  # loaded once, at startup, not per request
    for r in responses:
        assert r.status_code == 200, r.text
    body = responses[0].json()
    assert [w["phones"] for w in body["words"]] == [p for _, p in canonical_words(TEXT)]
    for aspect in ("accuracy", "fluency", "prosodic", "total"):
        assert 0 <= body[aspect] <= 10
    # One-pass scoring: every score comes with its spread, in the same shape.
    assert [w["text"] for w in body["uncertainty"]["words"]] == TEXT.split()
    assert len(body["uncertainty"]["words"][3]["phones-accuracy"]) == 3
    assert responses[1].json()["words"] == body["words"]  # deterministic
    ref = spec["paths"]["/score"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**ref, "components": spec["components"]}).validate(body)


def test_shipped_default_model_in_process(bear_flac):
    from lmm_apa.infer.scorer import DEFAULT_ADAPTER, load_scorer

    if not (DEFAULT_ADAPTER / "lmm_apa_adapter.json").is_file():
        pytest.skip("no shipped default model")
    with TestClient(create_app(lambda: load_scorer("default"), model_name="default")) as c:
        r = c.post("/score", files={"audio": ("bear.flac", bear_flac.read_bytes())}, data={"text": TEXT})
        bad = c.post("/score", files={"audio": ("x.wav", b"not audio")}, data={"text": TEXT})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [w["text"] for w in body["words"]] == TEXT.split()
    assert all(0 <= a <= 2 for w in body["words"] for a in w["phones-accuracy"])
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "audio_error"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # ~20 s: a fresh interpreter imports torch and loads the model
def test_lmm_apa_serve(tiny_model, bear_flac):
    port = _free_port()
    cmd = [*LMM_APA, "serve", "--model", str(tiny_model)]
    cmd += ["--port", str(port), "--max-queue", "2", "--log-level", "warning"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = httpx.get(f"{url}/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "lmm-apa serve did not come up in 90 s"
                time.sleep(0.3)
        assert health["model_loaded"] is True and health["max_queue"] == 2
        r = httpx.post(
            f"{url}/score",
            files={"audio": ("b.flac", bear_flac.read_bytes())},
            data={"text": TEXT},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert [w["text"] for w in r.json()["words"]] == TEXT.split()
        assert "Pronunciation practice" in httpx.get(url + "/").text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stdout.read()


def test_serve_with_a_missing_model_fails_cleanly(tmp_path):
    cmd = [*LMM_APA, "serve", "--model", str(tmp_path / "nope")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    stderr = " ".join(out.stderr.split())  # rich wraps long lines
    assert "is neither 'default'" in stderr and "Traceback" not in stderr


def test_unscripted_request_with_the_real_whisper(bear_flac):
    """No sentence: the app's own transcriber (Whisper-base, loaded on first use) gives the reference."""
    from tests.interfaces.web.scorer_double import EnergyScorer

    scorer = EnergyScorer()
    with TestClient(create_app(lambda: scorer, model_name="energy-double")) as client:
        r = client.post("/score", files={"audio": ("bear.flac", bear_flac.read_bytes(), "audio/flac")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reference"] == "transcribed" and "completeness" not in body
    said = body["text"].split()
    assert len(said) == 4 and sum(a == b for a, b in zip(said, TEXT.split(), strict=True)) >= 3, said
    assert scorer.calls == 1

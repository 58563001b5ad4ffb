"""`POST /score` as CSV (`?format=csv` or `Accept: text/csv`): the rows and columns of `lmm-apa score
--format csv`, and `meta.whisper` (whose Whisper-base weights) on JSON responses."""

from __future__ import annotations

import csv
import io

import jsonschema
from fastapi.testclient import TestClient

from lmm_apa.interfaces.csv_rows import columns, word_rows
from lmm_apa.interfaces.web import create_app
from tests.interfaces.web.scorer_double import EnergyScorer

TEXT = "WE CALL IT BEAR"


def post(client, audio: bytes, text: str | None = TEXT, query: str = "", **kw):
    data = {"text": text} if text is not None else {}
    return client.post(
        f"/score{query}", files={"audio": ("bear.flac", audio)}, data=data | kw.pop("data", {}), **kw
    )


def rows(response) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(response.text))
    return list(reader.fieldnames or []), list(reader)


def as_written(row: dict) -> dict[str, str]:
    """A `word_rows` row as the csv module writes and reads it back."""
    return {k: "" if v is None else str(v) for k, v in row.items()}


def test_csv_rows_are_the_clis(client, bear_flac):
    audio = bear_flac.read_bytes()
    r = post(client, audio, query="?format=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    header, got = rows(r)
    assert header == columns()
    body = post(client, audio).json()  # the same audio as JSON: the double scores it the same
    expected = [as_written(row) for row in word_rows(body, "bear.flac")]
    assert [row["word"] for row in got] == TEXT.split()
    for row, want in zip(got, expected, strict=True):
        assert row["utt_id"].startswith("web-") and row["audio"] == "bear.flac"
        assert {k: v for k, v in row.items() if k not in ("utt_id", "error")} == {
            k: want.get(k, "") for k in header if k not in ("utt_id", "error")
        }
    assert got[2]["error_type"] == "omission" and got[0]["reference"] == "given" and got[0]["scale"] == "10"


def test_accept_header_asks_for_csv(client, bear_flac):
    audio = bear_flac.read_bytes()
    csv_r = post(client, audio, headers={"Accept": "text/csv"})
    assert csv_r.headers["content-type"].startswith("text/csv") and rows(csv_r)[0] == columns()
    for accept in ("application/json, text/csv", "*/*", "application/json"):
        r = post(client, audio, headers={"Accept": accept})
        assert r.headers["content-type"] == "application/json", accept
    # The query wins over the header.
    assert post(client, audio, query="?format=json", headers={"Accept": "text/csv"}).json()["text"] == TEXT


def test_csv_in_ipa_on_0_100_and_transcribed(client, bear_flac):
    audio = bear_flac.read_bytes()
    r = post(client, audio, query="?format=csv", data={"phones": "ipa", "scale": "100"})
    header, got = rows(r)
    assert header == columns(ipa=True)
    assert got[0]["scale"] == "100" and got[0]["phones_ipa"] == "w i" and got[3]["ipa"] == "bɛɹ"
    assert float(got[0]["word_accuracy"]) % 10 == 0  # a 0-10 integer score, x10
    free = rows(post(client, audio, text=None, query="?format=csv"))[1]
    assert {row["reference"] for row in free} == {"transcribed"} and {
        row["sentence_completeness"] for row in free
    } == {""}


def test_errors_stay_json(client, bear_flac):
    r = post(client, b"", query="?format=csv")
    assert r.status_code == 422 and r.json()["error"]["code"] == "audio_error"
    r = post(client, bear_flac.read_bytes(), query="?format=xlsx")
    assert r.status_code == 422 and "format" in r.json()["error"]["message"]


def test_openapi_documents_csv(client):
    op = client.get("/openapi.json").json()["paths"]["/score"]["post"]
    (fmt,) = [p for p in op["parameters"] if p["name"] == "format"]
    assert fmt["in"] == "query" and "text/csv" in fmt["description"]
    assert {"enum": ["json", "csv"], "type": "string"} in fmt["schema"]["anyOf"]
    content = op["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"} and content["text/csv"]["schema"] == {
        "type": "string"
    }


def test_meta_names_the_whisper_weights_when_given(bear_flac):
    whisper = {
        "source": "local folder /models/faster-whisper-base (--whisper-dir)",
        "model_bin": "/models/faster-whisper-base/model.bin",
        "sha256": "ab" * 32,
        "trained_sha256": {"default": "cd" * 32, "aligner": "cd" * 32},
        "as_trained": False,
    }
    app = create_app(lambda: EnergyScorer(), model_name="energy-double", whisper=whisper)
    with TestClient(app) as client:
        body = post(client, bear_flac.read_bytes()).json()
        spec = client.get("/openapi.json").json()
    assert body["meta"]["whisper"] == whisper
    schema = spec["paths"]["/score"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(body)
    meta = spec["components"]["schemas"]["ScoreMeta"]["properties"]
    assert "whisper" in meta


def test_meta_leaves_whisper_out_without_it(client, bear_flac):
    assert "whisper" not in post(client, bear_flac.read_bytes()).json()["meta"]

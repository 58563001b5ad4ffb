import os

import pytest

from lmm_apa.models import provenance
from lmm_apa.models.provenance import (
    OFFICIAL_WHISPER_SHA256,
    WhisperWeights,
    sha256,
    trained_whisper_sha256,
    weights_provenance,
)


def test_sha256_of_a_file_and_its_new_content(tmp_path):
    import hashlib

    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert sha256(f) == hashlib.sha256(b"abc").hexdigest()
    f.write_bytes(b"abcd")
    os.utime(f, ns=(1, 10**18))  # a new state of the file is hashed afresh
    assert sha256(f) == hashlib.sha256(b"abcd").hexdigest()


def test_as_trained_needs_every_part_trained_on_the_same_bytes(tmp_path):
    w = WhisperWeights("here", tmp_path / "model.bin", "aa", {"default": "aa", "aligner": "aa"})
    assert w.as_trained and not w.official
    assert not WhisperWeights("here", tmp_path, "aa", {"default": "aa", "aligner": "bb"}).as_trained
    assert not WhisperWeights("here", tmp_path, "aa", {}).as_trained
    assert WhisperWeights("here", tmp_path, OFFICIAL_WHISPER_SHA256, {}).official
    j = w.to_json()
    assert j["as_trained"] is True and j["model_bin"] == str(tmp_path / "model.bin")
    assert j["trained_sha256"] == {"default": "aa", "aligner": "aa"}


def test_the_shipped_parts_record_the_whisper_they_were_trained_on():
    trained = trained_whisper_sha256()
    assert set(trained) <= {"default", "aligner"}
    assert all(len(h) == 64 for h in trained.values())


def test_provenance_lists_whisper_first_and_the_shipped_weights(monkeypatch):
    files = weights_provenance()
    assert files[0].part == "Whisper-base (CTranslate2)"
    for f in files:
        assert (f.path is None) == (f.sha256 is None)
        if f.path is not None:
            assert f.size == f.path.stat().st_size


def test_whisper_meta_is_none_without_a_whisper(monkeypatch):
    from lmm_apa.errors import ModelError

    def missing():
        raise ModelError("not installed")

    monkeypatch.setattr(provenance, "whisper_weights", missing)
    assert provenance.whisper_meta() is None


@pytest.mark.parametrize("dist", ["no-such-distribution-lmm-apa"])
def test_an_absent_distribution_has_a_version_string(dist):
    assert isinstance(provenance._version(dist), str)

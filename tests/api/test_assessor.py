"""`lmm_apa.Assessor` on the shipped default model and a real recording: one load for the module."""

import io
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import lmm_apa
from lmm_apa import Assessor, AudioError, InputError, LexiconError, Result

TEXT = "We call it bear"


def test_the_root_exports_the_public_api_and_stays_cheap():
    assert set(lmm_apa.__all__) == {
        "Assessor", "Result", "WordResult", "PhoneResult", "Insertion", "__version__",
        "LmmApaError", "AudioError", "InputError", "LexiconError", "ModelError", "DataError", "ConfigError",
    }  # fmt: skip
    for name in lmm_apa.__all__:
        assert getattr(lmm_apa, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Scorer'"):
        lmm_apa.Scorer  # noqa: B018
    code = "import sys, lmm_apa; lmm_apa.Assessor; lmm_apa.Result; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"  # torch loads with a model, not with the package


def test_help_shows_what_a_user_needs():
    import pydoc

    page = pydoc.render_doc(Assessor, renderer=pydoc.plaintext)
    for needed in ("score(", "score_many(", "text", "sample_rate", "precision", "listen", "AudioError"):
        assert needed in page, needed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "beam"}, "mode='beam': choose one of"),
        ({"precision": "fp16"}, "precision='fp16'"),
        ({"model": 3}, "model: expected a name or a folder, not a int"),
        ({"listen": "yes"}, "listen: expected True or False"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lmm_share": 1.5}, "lmm_share: 1.5 is not between 0 and 1"),
        ({"lmm_share": "sentence=0.3,phon=0"}, r"unknown level\(s\) \['phon'\]"),
    ],
)
def test_bad_options_fail_before_loading(kwargs, message):
    with pytest.raises(InputError, match=message):
        Assessor(**kwargs)


def test_score_a_file(assessor, bear_flac):
    r = assessor.score(bear_flac, text=TEXT)
    assert isinstance(r, Result) and r.utt_id == "000010011" and r.text == "WE CALL IT BEAR"
    assert [w.text for w in r.words] == ["WE", "CALL", "IT", "BEAR"]
    assert 0 <= r.total <= 10 and 0 <= r.words[0].accuracy <= 10
    assert [p.symbol for p in r.words[3].phones] == ["B", "EH0", "R"]
    assert 0 < r.words[0].start < r.words[0].end <= r.words[1].start  # the aligner ran
    d = r.to_dict()
    assert d["meta"]["model"] == "default" and "whisper" in d["meta"]
    assert d["words"][3]["phones-accuracy"] == [p.accuracy for p in r.words[3].phones]
    assert Result.from_dict(d) == r
    # every form of the same audio scores the same
    floats, sr = sf.read(bear_flac, dtype="float32")
    for audio, kwargs in [
        (bear_flac.read_bytes(), {}),
        (io.BytesIO(bear_flac.read_bytes()), {}),
        (floats, {"sample_rate": sr}),
        (np.stack([floats, floats], axis=1), {"sample_rate": sr}),
    ]:
        other = assessor.score(audio, text=TEXT, utt_id="000010011", **kwargs)
        assert other.to_dict() == d, type(audio).__name__


def test_score_ipa_on_0_100(assessor, bear_flac):
    r = assessor.score(str(bear_flac), text=TEXT, phones="ipa", scale=100)
    assert r.scale == 100 and 10 < r.total <= 100
    # the corpus lexicon has BEAR unstressed (B EH0 R): no stress mark
    assert r.words[3].ipa == "bɛɹ" and [p.ipa for p in r.words[3].phones] == ["b", "ɛ", "ɹ"]
    assert Result.from_dict(r.to_dict()).to_dict() == r.to_dict()


@pytest.mark.parametrize(
    ("audio", "text", "kwargs", "error", "message"),
    [
        ([], TEXT, {}, AudioError, "audio: cannot read a list"),
        (np.ones(16000), TEXT, {}, AudioError, "sample_rate is missing"),
        (np.ones((2, 2, 16000)), TEXT, {"sample_rate": 16000}, AudioError, "3-D array"),
        ("missing.wav", TEXT, {}, AudioError, "missing.wav does not exist"),
        ("BEAR", "", {}, InputError, "text is empty"),
        ("BEAR", "...", {}, InputError, "no words to score"),
        ("BEAR", TEXT, {"phones": "x-sampa"}, InputError, "phones='x-sampa'"),
        ("BEAR", TEXT, {"scale": 5}, InputError, "scale=5"),
        ("BEAR", "we call it 你好", {}, LexiconError, "你好"),
    ],
)
def test_bad_input_is_a_clear_error(assessor, bear_flac, audio, text, kwargs, error, message):
    audio = bear_flac if isinstance(audio, str) and audio == "BEAR" else audio
    with pytest.raises(error, match=message):
        assessor.score(audio, text=text, **kwargs)


def test_score_many_keeps_order_and_reports_bad_items(assessor, bear_flac, capsys):
    items = [(bear_flac, TEXT), {"audio": "missing.wav", "text": TEXT}, {"audio": bear_flac, "utt_id": "b"}]
    # text None (the dict without text): unscripted, transcribed by Whisper-base
    results = assessor.score_many(items, batch_size=2, progress=True, errors="return")
    one, missing, free = results
    assert one.to_dict() == assessor.score(bear_flac, text=TEXT).to_dict()
    assert isinstance(missing, AudioError) and str(missing).startswith("item 1: audio: missing.wav")
    assert free.utt_id == "b" and free.reference == "transcribed" and free.completeness is None
    assert free.text.startswith("WE CALL IT")
    assert "scoring" in capsys.readouterr().err  # the progress bar
    with pytest.raises(AudioError, match="item 1"):
        assessor.score_many(items[:2])
    for one in (str(bear_flac), np.ones(16000), {"audio": bear_flac}):
        with pytest.raises(InputError, match="items: expected a list"):
            assessor.score_many(one)
    with pytest.raises(InputError, match=r"items\[0\]: a tuple is \(audio, text\)"):
        assessor.score_many([(bear_flac, TEXT, "x")])

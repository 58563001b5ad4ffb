"""The aligner's fitting steps, their corpus parts left out: aligning cached frames, the report."""

import json

import numpy as np
import pytest

from lmm_apa.align.aligner import Aligner
from lmm_apa.align.fit import DEFAULT_DEV_SPLIT, DEFAULT_TRAIN_SPLIT, ReadoutFit, align_all, readout_report
from lmm_apa.align.head import HeadConfig, PhoneHead
from lmm_apa.data.records import Phone, Utterance, Word


def _utt(utt_id: str, speaker: str) -> Utterance:
    return Utterance(
        utt_id=utt_id,
        speaker=speaker,
        text="SEE YOU",
        words=[
            Word(
                text="SEE",
                accuracy=8.0,
                phones=[Phone(symbol="S", accuracy=2.0), Phone(symbol="IY", accuracy=2.0)],
            ),
            Word(
                text="YOU",
                accuracy=8.0,
                phones=[Phone(symbol="Y", accuracy=2.0), Phone(symbol="UW", accuracy=2.0)],
            ),
        ],
        accuracy=8.0,
    )


def test_align_all_aligns_each_utterances_cached_frames_unlabelled(tmp_path):
    head = PhoneHead(HeadConfig(d_in=4, d_bottleneck=8, n_layers=1, dropout=0.0))
    utts = [_utt("a", "s1"), _utt("b", "s2")]
    frames = {}
    for i, u in enumerate(utts):
        frames[u.utt_id] = tmp_path / f"{u.utt_id}.npy"
        np.save(frames[u.utt_id], np.random.default_rng(i).normal(size=(30 + 10 * i, 4)).astype(np.float16))
    als = align_all(Aligner(head=head), utts, frames)
    assert [a.duration for a in als] == [30 / 50, 40 / 50]
    assert all([w.text for w in a.words] == ["SEE", "YOU"] for a in als)


class _Readout:
    def save(self, out, **provenance):
        out.mkdir(parents=True, exist_ok=True)
        (out / "readout.json").write_text(json.dumps(provenance))
        return out


def _fit(dev_alignments) -> ReadoutFit:
    dev = [_utt("a", "s1"), _utt("b", "s1"), _utt("c", "s2")]
    return ReadoutFit(
        _Readout(),
        None,
        None,
        [_utt("t", "s3")],
        dev,
        dev_alignments,
        {},
        {},
        1.0,
        DEFAULT_TRAIN_SPLIT,
        DEFAULT_DEV_SPLIT,
    )


def test_the_report_counts_speakers_and_omitted_words_and_formats_metrics(tmp_path):
    from types import SimpleNamespace as NS

    als = [NS(words=[NS(omitted=False), NS(omitted=True)]), NS(words=[NS(omitted=False)] * 2)]
    fit = _fit(als)
    metrics = {
        "sentence": {
            "accuracy": {
                "n": 3,
                "pcc": 0.71234,
                "pcc_ci": [0.5, 0.8],
                "scc": 0.7,
                "scc_cap": None,
                "rmse": 1.0,
            }
        },
        "word": {},
        "phone": {"accuracy": {"n": 12, "pcc": None, "scc": 0.1, "rmse": 0.4}},
    }
    text = readout_report(fit, metrics, {"n": 3})
    assert text.startswith(f"{DEFAULT_DEV_SPLIT}: 3 utterances, 2 speakers")
    assert "omitted on dev25: 1 of 4" in text
    assert "| sentence | accuracy | 3 | 0.712 [0.50, 0.80] | 0.700 (—) | 1.000 |" in text
    assert "| phone | accuracy | 12 | — | 0.100 (—) | 0.400 |" in text
    assert json.loads(text.split("```")[1]) == {"n": 3}
    out = fit.save(tmp_path / "readout", head="the-head")
    assert json.loads((out / "readout.json").read_text()) == {
        "fit_split": DEFAULT_TRAIN_SPLIT,
        "head": "the-head",
    }


class _Encoder:
    def frames(self, wave):
        n = len(wave) // 320
        return np.ones((n, 4), np.float32) * np.sqrt(np.mean(wave**2))


def test_room_frames_cover_the_first_share_once_per_copy(train_utts, tmp_path):
    pytest.importorskip("audiomentations")
    from lmm_apa.align.fit import room_frames

    utts = train_utts[:8]
    rooms = room_frames(utts, tmp_path, copies=2, seed=3, encoder=_Encoder(), share=0.5)
    assert [sorted(r) for r in rooms] == [sorted(u.utt_id for u in utts[:4])] * 2
    assert (
        rooms[0][utts[0].utt_id].parent.name == "room-s3"
        and rooms[1][utts[0].utt_id].parent.name == "room-s4"
    )
    a, b = (np.load(r[utts[0].utt_id]) for r in rooms)
    assert not np.array_equal(a, b)  # two different rooms
    assert room_frames(utts, tmp_path, copies=0) == []

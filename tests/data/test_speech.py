"""Silero VAD finds the speech; the silence around it is cut and times come back on the original."""

import numpy as np
import pytest

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.records import Insertion, Phone, Utterance, Word
from lmm_apa.data.speech import MARGIN_S, SpeechSpan, find_speech, shift_times, trim_to_speech

KNOWN = "WAVE/SPEAKER0001/000010011.flac"  # "WE CALL IT BEAR": speech from about 0.6 s to 2.05 s
QUIETEST = "WAVE/SPEAKER9646/096460007.flac"


def test_speech_is_found_where_it_is(corpus_dir):
    wave = load_audio(corpus_dir / KNOWN)
    span = find_speech(wave)
    start, end = span.segments[0][0] / SAMPLE_RATE, span.segments[-1][1] / SAMPLE_RATE
    assert 0.4 < start < 0.8 and 1.9 < end < 2.3
    assert abs(span.onset / SAMPLE_RATE - start) < 0.25 and abs(span.offset / SAMPLE_RATE - end) < 0.25


@pytest.mark.parametrize("before", [0.37, 1.013, 3.0])
def test_the_same_speech_is_cut_the_same_whatever_silence_came_before(corpus_dir, before):
    """Silero's 32 ms windows start at the file's start; the edges on the envelope do not."""
    wave = load_audio(corpus_dir / KNOWN)
    same, offset0 = trim_to_speech(wave, find_speech(wave))
    padded = np.concatenate(
        [np.zeros(int(before * SAMPLE_RATE), np.float32), wave, np.zeros(SAMPLE_RATE, np.float32)]
    )
    cut, offset = trim_to_speech(padded, find_speech(padded))
    assert abs(len(cut) - len(same)) <= 2
    n = min(len(cut), len(same))
    np.testing.assert_allclose(cut[:n], same[:n], atol=1e-3)
    assert offset == pytest.approx(offset0 + before, abs=2 / SAMPLE_RATE)
    # exactly MARGIN_S before and after the speech, from the recording or added as silence
    long, start = trim_to_speech(wave, find_speech(wave), margin_s=5.0)
    assert start < 0 and len(long) == len(same) + 2 * int((5.0 - MARGIN_S) * SAMPLE_RATE)


@pytest.mark.parametrize("gain", [1.0, 0.1, 0.01])
def test_quiet_speech_is_still_speech(corpus_dir, gain):
    wave = load_audio(corpus_dir / QUIETEST)  # peaks at -24 dBFS; x0.01 is -64 dBFS
    assert find_speech(gain * wave).seconds > 1.5


@pytest.mark.parametrize("kind", ["zeros", "white", "hum"])
def test_no_speech_in_noise(kind):
    rng = np.random.default_rng(0)
    t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    wave = {
        "zeros": np.zeros_like(t),
        "white": 0.3 * rng.standard_normal(len(t)),
        "hum": 0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t),
    }[kind].astype(np.float32)
    assert not find_speech(wave).found


def test_times_shift_back_to_the_original():
    word = Word(text="HI", phones=[Phone(symbol="HH"), Phone(symbol="AY1")], start=0.1, end=0.5,
                phones_start=[0.1, 0.3], phones_end=[0.3, 0.5])  # fmt: skip
    gone = Word(text="THERE", phones=[Phone(symbol="DH"), Phone(symbol="EH1"), Phone(symbol="R")])
    utt = Utterance(utt_id="u", text="HI THERE", words=[word, gone],
                    insertions=[Insertion(start=0.6, end=0.9, after_word=0)])  # fmt: skip
    moved = shift_times(utt, 1.25)
    assert (moved.words[0].start, moved.words[0].end) == (1.35, 1.75)
    assert moved.words[0].phones_start == [1.35, 1.55] and moved.words[0].phones_end == [1.55, 1.75]
    assert moved.words[1].start is None and moved.words[1].phones_start is None
    assert (moved.insertions[0].start, moved.insertions[0].end) == (1.85, 2.15)
    assert shift_times(utt, 0.0) is utt


def test_silence_is_added_only_where_the_speech_ended_inside_the_recording():
    wave = np.ones(32000, np.float32)  # 2 s; the span below says where the speech is
    inside = SpeechSpan(segments=[(8000, 24000)], n_samples=32000)
    cut, start = trim_to_speech(wave, inside, margin_s=0.75)
    assert len(cut) == 16000 + 2 * 12000 and start == -0.25  # 0.25 s of silence added a side
    # A recording stopped mid-word: nothing is added after the speech (the aligner must not get room
    # for words never said), but the margin before it is kept.
    stopped = SpeechSpan(segments=[(8000, 32000)], n_samples=32000)
    cut, start = trim_to_speech(wave, stopped, margin_s=0.25)
    assert len(cut) == 24000 + 4000 and start == 0.25
    assert cut[-1] == 1.0
    started = SpeechSpan(segments=[(0, 16000)], n_samples=32000)
    cut, start = trim_to_speech(wave, started, margin_s=0.25)
    assert start == 0.0 and len(cut) == 16000 + 4000 and cut[0] == 1.0

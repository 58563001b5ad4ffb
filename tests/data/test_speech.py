"""Silero VAD finds the speech; the silence around it is cut and times come back on the original."""

import numpy as np
import pytest

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.records import Insertion, Phone, Utterance, Word
from lmm_apa.data.speech import MARGIN_S, find_speech, shift_times, trim_to_speech

KNOWN = "WAVE/SPEAKER0001/000010011.flac"  # "WE CALL IT BEAR": speech from about 0.6 s to 2.05 s
QUIETEST = "WAVE/SPEAKER9646/096460007.flac"


def test_speech_is_found_where_it_is_and_padding_moves_it(corpus_dir):
    wave = load_audio(corpus_dir / KNOWN)
    span = find_speech(wave)
    start, end = span.segments[0][0] / SAMPLE_RATE, span.segments[-1][1] / SAMPLE_RATE
    assert 0.4 < start < 0.8 and 1.9 < end < 2.3
    padded = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.float32), wave, np.zeros(SAMPLE_RATE, np.float32)])
    cut, offset = trim_to_speech(padded, find_speech(padded))
    # The same speech with the same margin: the cut is as long as the unpadded one's (one VAD window).
    same, _ = trim_to_speech(wave, span)
    assert abs(len(cut) - len(same)) <= 512 * 2
    assert offset == pytest.approx(2 + start - MARGIN_S, abs=0.05)


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

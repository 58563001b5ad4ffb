import numpy as np
import pytest

from lmm_apa.align.head import HeadConfig, PhoneHead
from lmm_apa.align.phoneset import phone_id
from lmm_apa.align.train_head import dev_ctc, edit_distance, frame_cache, greedy_per, targets, train_head
from lmm_apa.data.records import Phone, Utterance, Word


@pytest.mark.parametrize(
    "a, b, d",
    [("", "", 0), ("abc", "abc", 0), ("abc", "", 3), ("kitten", "sitting", 3), ([1, 2, 3], [1, 3], 1)],
)
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_targets_are_the_canonical_phone_ids():
    utt = Utterance(
        utt_id="u",
        text="SEE",
        words=[Word(text="SEE", phones=[Phone(symbol="S"), Phone(symbol="IY0")])],
    )
    assert targets(utt) == [phone_id("S"), phone_id("IY")]


def _toy_pairs(n, rng):
    """Frames that spell their phones: each phone is 4 frames of its one-hot code, blanks between."""
    pairs = []
    for _ in range(n):
        phones = list(rng.integers(1, 4, size=3))
        frames = []
        for p in phones:
            frames += [np.eye(8)[0]] * 2 + [np.eye(8)[p]] * 4
        pairs.append((np.array(frames + [np.eye(8)[0]] * 2, dtype=np.float32), [int(p) for p in phones]))
    return pairs


def test_training_lowers_the_dev_loss_and_keeps_the_best_epoch(tmp_path):
    rng = np.random.default_rng(0)
    train, dev = _toy_pairs(48, rng), _toy_pairs(8, rng)
    cfg = HeadConfig(d_in=8, d_bottleneck=16, n_layers=1, dropout=0.0)
    logs = []
    before = dev_ctc(PhoneHead(cfg), dev)
    head = train_head(train, dev, tmp_path, epochs=30, batch_size=8, lr=1e-2, cfg=cfg, log=logs.append)
    assert len(logs) == 30
    after = dev_ctc(head, dev)
    assert after < 0.5 * before
    assert greedy_per(head, dev) < 0.5
    assert (tmp_path / "phone_head.safetensors").is_file()


class _Encoder:
    """Frames that show what was encoded: one row per 320 samples, each the chunk's RMS."""

    def frames(self, wave):
        n = len(wave) // 320
        return np.sqrt((wave[: n * 320].reshape(n, 320) ** 2).mean(axis=1, keepdims=True))


def test_augmented_frames_are_cached_apart_and_cut_to_the_speech(corpus_dir, tmp_path):
    from lmm_apa.data.audio import load_audio

    utt = Utterance(
        utt_id="000010011",
        speaker="0001",
        text="WE CALL IT BEAR",
        audio_path=str(corpus_dir / "WAVE/SPEAKER0001/000010011.flac"),
    )
    wave = load_audio(utt.audio_path)

    def pad(w, key):  # 3 s of silence each side: the scorer cuts it back to the speech
        assert key == utt.utt_id
        return np.concatenate([np.zeros(3 * 16000, np.float32), w, np.zeros(3 * 16000, np.float32)])

    clean = frame_cache([utt], tmp_path / "clean", _Encoder())
    room = frame_cache([utt], tmp_path / "room", _Encoder(), augment=pad)
    assert clean[utt.utt_id] != room[utt.utt_id]
    n_clean, n_room = len(np.load(clean[utt.utt_id])), len(np.load(room[utt.utt_id]))
    assert n_clean == len(wave) // 320
    assert n_room < n_clean + 2 * 50  # not the 6 s added: cut to the speech plus its margins

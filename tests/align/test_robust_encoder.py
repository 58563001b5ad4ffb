"""`align.robust_encoder`: the encoder's room LoRA trains on corpus recordings, resumes, and the
aligner that carries it hears through it."""

import json
import shutil

import numpy as np
import pytest

from lmm_apa.align.frontend import Listener, load_encoder
from lmm_apa.align.head import DEFAULT_HEAD
from lmm_apa.align.robust_encoder import train_robust_encoder
from lmm_apa.models.whisper_torch import ENCODER_ADAPTER, TorchWhisperEncoder


@pytest.fixture(scope="module")
def speech(corpus_dir) -> np.ndarray:
    from lmm_apa.data.audio import load_audio

    return load_audio(corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac")


@pytest.fixture(scope="module")
def tuned(corpus_dir, tmp_path_factory):
    """Two epochs over 8 training recordings, stopped after the first and resumed."""
    pytest.importorskip("audiomentations")
    root = tmp_path_factory.mktemp("robust")
    out, cache = root / "enc", root / "frames"
    kw = dict(limit=8, accumulate=4, dev_n=2, save_every=1, lr=3e-3, rank=4, log=lambda s: None)
    kw |= dict(crop_share=0.5, telephone_p=0.5, narrowband_share=0.5)
    first = train_robust_encoder(corpus_dir, out, cache, epochs=1, **kw)
    resumed = train_robust_encoder(corpus_dir, out, cache, epochs=2, **kw)
    return first, resumed, out


def test_training_resumes_and_records_its_recipe_and_dev_losses(tuned):
    first, resumed, out = tuned
    assert first["steps"] == 2 and resumed["steps"] == 4  # the second call went on from step 2
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2]
    base = resumed["history"][0]
    assert base["clean_mse"] < 1e-3 < base["room_mse"]  # before training: rooms move frames, clean does not
    assert base["cut_mse"] > 1e-3  # a recording cut tight strays from its frames with room around them
    info = json.loads((out / "encoder_lora.json").read_text())
    assert info["rank"] == 4 and info["augment"].startswith("RoomAugmenter")
    assert info["crop_share"] == 0.5 and "narrowband_share=0.5" in info["augment"]
    assert (out / "epoch1" / ENCODER_ADAPTER).is_file()


def test_crops_fall_on_frame_edges_around_the_speech():
    import random

    from lmm_apa.align.robust_encoder import HOP, SR, _crop

    rng, n, onset, offset = random.Random(0), 5 * SR, SR, 4 * SR
    crops = [_crop(n, onset, offset, rng) for _ in range(300)]
    assert all(a % HOP == 0 and (b - a) % HOP == 0 and 0 <= a < b <= n for a, b in crops)
    assert all(onset - 0.3 * SR - HOP <= a <= onset for a, _ in crops)  # at most 0.3 s kept before
    early = [b for _, b in crops if b < offset]
    assert 60 < len(early) < 140  # a third stopped inside the speech's second half
    assert all(b >= onset + 0.5 * (offset - onset) - HOP for b in early)
    assert all(b <= offset + 0.3 * SR for _, b in crops)
    assert _crop(n, SR, SR + SR // 2, rng) == (0, n)  # under a second of speech: left whole


def test_an_aligner_folder_with_the_adapter_hears_through_the_tuned_encoder(tuned, tmp_path, speech):
    _, _, out = tuned
    folder = tmp_path / "aligner"
    shutil.copytree(DEFAULT_HEAD, folder)
    plain = Listener(folder)
    plain_tag = plain.tag
    shutil.copy(out / ENCODER_ADAPTER, folder)
    shutil.copy(out / "encoder_lora.json", folder)
    tuned_listener = Listener(folder)
    assert isinstance(load_encoder(folder), TorchWhisperEncoder)
    assert isinstance(tuned_listener.encoder, TorchWhisperEncoder)
    assert tuned_listener.tag != plain_tag  # evidence caches of the two never mix
    a, b = plain.encoder.frames(speech), tuned_listener.encoder.frames(speech)
    assert a.shape == b.shape and np.abs(a - b).max() > 1e-3


def test_the_shipped_adapter_hears_white_noise_closer_to_the_clean_recording(corpus_dir):
    """The shipped aligner's encoder (with its room adapter) against the frozen encoder, on five
    train recordings with white noise at 20 dB: the noisy frames land nearer the clean recording's
    frozen frames (measured at ship time: 0.32 -> 0.22 mean standardised MSE), and the clean
    recording's frames stay near their own (0.04)."""
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.speechocean import load_speechocean762

    shipped, frozen = load_encoder(DEFAULT_HEAD), TorchWhisperEncoder()
    assert isinstance(shipped, TorchWhisperEncoder) and shipped.adapter is not None
    noisy_frozen, noisy_shipped, clean_shipped = [], [], []
    for u in load_speechocean762(corpus_dir, split="train")[:200:40]:
        wave = load_audio(u.audio_path)
        noise = np.random.default_rng(0).normal(size=len(wave)).astype(np.float32)
        noisy = wave + noise * np.sqrt(np.mean(wave**2) / 100)  # 20 dB below the recording's power
        clean = frozen.frames(wave)
        scale = clean.std(axis=0) + 1e-3

        def mse(x: np.ndarray, clean=clean, scale=scale) -> float:
            return float(np.mean(((x - clean) / scale) ** 2))

        noisy_frozen.append(mse(frozen.frames(noisy)))
        noisy_shipped.append(mse(shipped.frames(noisy)))
        clean_shipped.append(mse(shipped.frames(wave)))
    assert all(s < f for s, f in zip(noisy_shipped, noisy_frozen, strict=True))
    assert np.mean(noisy_shipped) < 0.85 * np.mean(noisy_frozen)
    assert np.mean(clean_shipped) < 0.3 * np.mean(noisy_frozen)

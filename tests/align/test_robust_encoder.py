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
    first = train_robust_encoder(corpus_dir, out, cache, epochs=1, **kw)
    resumed = train_robust_encoder(corpus_dir, out, cache, epochs=2, **kw)
    return first, resumed, out


def test_training_resumes_and_records_its_recipe_and_dev_losses(tuned):
    first, resumed, out = tuned
    assert first["steps"] == 2 and resumed["steps"] == 4  # the second call went on from step 2
    assert [h["epoch"] for h in resumed["history"]] == [0, 1, 2]
    base = resumed["history"][0]
    assert base["clean_mse"] < 1e-3 < base["room_mse"]  # before training: rooms move frames, clean does not
    info = json.loads((out / "encoder_lora.json").read_text())
    assert info["rank"] == 4 and info["augment"].startswith("RoomAugmenter")
    assert (out / "epoch1" / ENCODER_ADAPTER).is_file()


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

"""data.room_rate: copies of training recordings heard in a simulated room, with the clean texts."""

import pytest

pytest.importorskip("audiomentations")

import torch  # noqa: E402

from lmm_apa.models.backbone import load_backbone  # noqa: E402
from lmm_apa.train.config import load_config  # noqa: E402
from lmm_apa.train.data import cached_features, corpus_sources  # noqa: E402


def test_a_share_of_train_recordings_gets_a_room_copy_with_the_same_texts(
    cached_corpus, corpus_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("LMM_APA_CACHE", str(tmp_path))
    cfg = load_config(
        None, [f"data.corpus_dir={corpus_dir}", "data.limit=40", "data.dev_limit=2", "data.room_rate=0.25"]
    )
    train, _ = corpus_sources(cfg)
    clean = {s.utt_id: s for s in train if s.room is None}
    rooms = [s for s in train if s.room is not None]
    assert len(clean) == 40 and len(rooms) == 10
    for s in rooms:
        src = clean[s.room.key]
        assert s.utt_id == f"{src.utt_id}~room0" and s.audio == src.audio
        assert (s.prompt, s.chosen, s.rejected) == (src.prompt, src.chosen, src.rejected)
    assert len(list((tmp_path / "babble-s0").glob("*.wav"))) > 0
    off = load_config(None, [f"data.corpus_dir={corpus_dir}", "data.limit=40", "data.dev_limit=2"])
    assert all(s.room is None for s in corpus_sources(off)[0])


def test_a_room_copy_is_encoded_from_the_room_not_the_clean_recording(tiny_backbone, bear, tmp_path):
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.augment import make_babble
    from lmm_apa.train.data import Room

    lmm = load_backbone(tiny_backbone)
    wave = load_audio(bear[0])
    babble = str(make_babble([wave[i * 800 :] for i in range(6)], tmp_path / "b", n=2))
    clean, _ = cached_features(lmm, "bear", str(bear[0]), tmp_path)
    room = Room(babble, 0, "bear")
    p1, _ = cached_features(lmm, "bear~room0", str(bear[0]), tmp_path / "a", room=room)
    p2, _ = cached_features(lmm, "bear~room0", str(bear[0]), tmp_path / "b2", room=room)
    a, b, c = torch.load(p1), torch.load(p2), torch.load(clean)
    assert torch.equal(a, b)  # the same room every time the cache is rebuilt
    assert a.shape != c.shape or not torch.allclose(a, c, atol=1e-3)


def test_room_rate_is_a_share():
    from lmm_apa.errors import ConfigError

    with pytest.raises(ConfigError, match="room_rate"):
        load_config(None, ["data.room_rate=1.5"])

"""An unsaid-text row cut short is encoded from the cut recording, in its own cache entry."""

import json

from lmm_apa.models.backbone import load_backbone
from lmm_apa.train.data import cached_features, jsonl_sources


def test_audio_end_cuts_the_recording_before_encoding(tiny_backbone, tiny_jsonl, tmp_path):
    lmm = load_backbone(tiny_backbone)
    row = json.loads(tiny_jsonl.read_text().splitlines()[1])  # 1.5 s of audio
    _, full = cached_features(lmm, row["utt_id"], row["audio"], tmp_path)
    path, cut = cached_features(lmm, row["utt_id"] + "~cut_short", row["audio"], tmp_path, audio_end=0.5)
    assert full == 37 and cut == 12  # 25 audio tokens a second
    assert path.name == "u1_cut_short.pt"


def test_jsonl_rows_carry_their_cut(tiny_jsonl, tmp_path):
    rows = [json.loads(line) for line in tiny_jsonl.read_text().splitlines()]
    rows[0] |= {"utt_id": "u0~cut_short", "audio_end": 0.4}
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    sources = jsonl_sources(path, "sentence", 1)
    assert [s.audio_end for s in sources] == [0.4, None]

"""`--precision`: parsing, the auto choice, and what bf16 and a merged LoRA do to a tiny backbone."""

from pathlib import Path

import pytest
import torch

from lmm_apa.errors import ConfigError, ModelError
from lmm_apa.models.backbone import load_backbone
from lmm_apa.models.precision import PRECISIONS, check_precision, cpu_flags, resolve_precision


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\n")
    return path


def test_auto_is_bf16_on_a_cpu_with_bf16_matrix_instructions_and_fp32_without(tmp_path):
    for name in ("amx", "avx512"):
        (tmp_path / name).mkdir()
    amx = _cpuinfo(tmp_path / "amx", "avx512f amx_bf16 amx_tile")
    avx512 = _cpuinfo(tmp_path / "avx512", "avx512f avx512_bf16 avx512_vnni")
    plain = _cpuinfo(tmp_path, "avx2 avx512f avx512_vnni")
    assert "amx_bf16" in cpu_flags(amx)
    chosen = resolve_precision("auto", "cpu", cpuinfo=amx)
    assert (chosen.name, chosen.dtype) == ("bf16", torch.bfloat16) and "amx_bf16" in chosen.reason
    assert resolve_precision("auto", "cpu", cpuinfo=avx512).name == "bf16"
    assert resolve_precision("auto", "cpu", cpuinfo=plain).name == "fp32"
    assert resolve_precision("auto", "cpu", cpuinfo=tmp_path / "missing").name == "fp32"
    assert resolve_precision("auto", "cuda", cpuinfo=plain).name == "bf16"  # no device needed to decide


def test_explicit_precision_wins_and_unknown_ones_are_refused(tmp_path):
    amx = _cpuinfo(tmp_path, "amx_bf16")
    assert resolve_precision("fp32", "cpu", cpuinfo=amx).name == "fp32"
    assert resolve_precision("bf16", "cpu", cpuinfo=tmp_path / "missing").dtype == torch.bfloat16
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        resolve_precision("fp16")
    assert [check_precision(p) for p in PRECISIONS] == list(PRECISIONS)
    with pytest.raises(ConfigError, match="'int8' is not one of auto, fp32, bf16"):
        check_precision("int8")


def test_the_choice_is_logged(tmp_path, caplog):
    with caplog.at_level("INFO", logger="lmm_apa.precision"):
        resolve_precision("auto", "cpu", cpuinfo=_cpuinfo(tmp_path, "avx2"))
    assert "precision: fp32 (auto: CPU lacks amx_bf16 and avx512_bf16)" in caplog.text


@pytest.fixture(scope="module")
def trained_adapter(tmp_path_factory) -> Path:
    """A tiny default-design adapter whose LoRA is not a no-op (peft starts B at zero)."""
    from lmm_apa.models.testing import tiny_qwen2_audio

    base = tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-base"), design="default")
    lmm = load_backbone(base)
    lmm.add_lora()
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in lmm.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.2)
    return lmm.save_adapter(tmp_path_factory.mktemp("tiny-adapter"))


def _logits(lmm, n_audio: int = 6) -> torch.Tensor:
    torch.manual_seed(0)
    feats = torch.randn(n_audio, lmm.d_audio)
    prompt = lmm.prompt_ids("<|AUDIO|>\nText: we call it bear", n_audio) + lmm.answer_ids("sentence: X X")
    ids = torch.tensor([prompt])
    at = torch.arange(len(prompt) - 6, len(prompt)).unsqueeze(0)
    with torch.no_grad():
        return lmm.logits_at(ids, torch.ones_like(ids), [feats], at).float()


def test_merged_lora_gives_the_unmerged_logits(trained_adapter):
    base = load_backbone(_base_of(trained_adapter))
    unmerged = load_backbone(_base_of(trained_adapter), adapter=trained_adapter)
    merged = load_backbone(_base_of(trained_adapter), adapter=trained_adapter, merge=True)
    assert merged.merged and merged._peft is None and not unmerged.merged
    assert not any("lora" in n for n, _ in merged.model.named_modules())
    want = _logits(unmerged)
    assert (want - _logits(base)).abs().max() > 1e-2  # the adapter changes the logits...
    torch.testing.assert_close(_logits(merged), want, atol=1e-4, rtol=1e-4)  # ...and merging keeps that
    with pytest.raises(ModelError, match="merged"):
        merged.save_adapter(trained_adapter.parent / "again")
    with pytest.raises(ModelError, match="merged"):
        merged.add_lora()


def test_bf16_backbone_is_bf16_and_close_to_fp32(trained_adapter):
    fp32 = load_backbone(_base_of(trained_adapter), adapter=trained_adapter, merge=True, precision="fp32")
    bf16 = load_backbone(_base_of(trained_adapter), adapter=trained_adapter, merge=True, precision="bf16")
    assert fp32.dtype == torch.float32 and bf16.dtype == torch.bfloat16
    assert {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    want, got = _logits(fp32).softmax(-1), _logits(bf16).softmax(-1)
    assert (want - got).abs().max() < 0.02  # probabilities, on a random tiny model


def _base_of(adapter: Path) -> str:
    import json

    return json.loads((adapter / "lmm_apa_adapter.json").read_text())["base"]

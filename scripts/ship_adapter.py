"""Copy a trained adapter into the package as the shipped default model, in float16.

    .venv/bin/python scripts/ship_adapter.py runs/ship2/final --config configs/cpu_ship.yaml

float16 halves the size in the repository (LoRA + projector: about 5 MB); `load_adapter` casts the
weights back to the backbone's dtype. The provenance file records the command, the config and the
commit that produced the weights, so anyone can retrain them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from safetensors.torch import load_file, save_file

DEST = Path(__file__).resolve().parents[1] / "src" / "lmm_apa" / "weights" / "default"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("adapter", type=Path, help="adapter folder written by lmm-apa train")
    p.add_argument("--config", type=Path, required=True, help="the config file the run was started with")
    p.add_argument("--note", default="", help="free text for the provenance file")
    args = p.parse_args()

    if DEST.exists():
        shutil.rmtree(DEST)
    DEST.mkdir(parents=True)
    for f in args.adapter.iterdir():
        if f.suffix == ".safetensors":
            tensors = {k: v.half().contiguous() for k, v in load_file(f).items()}
            save_file(tensors, DEST / f.name)
        elif f.is_file() and f.name != "README.md":  # peft's empty model card
            shutil.copy2(f, DEST / f.name)
    info = json.loads((DEST / "lmm_apa_adapter.json").read_text())
    info["base"] = "default"
    info.setdefault("task", "multi")
    # the Whisper-base bytes whose frames it was trained on (this machine's, where it was trained):
    # every result's meta.whisper.as_trained compares the weights in use with it
    from lmm_apa.models.provenance import whisper_weights

    info.setdefault("whisper_sha256", whisper_weights().sha256)
    (DEST / "lmm_apa_adapter.json").write_text(json.dumps(info, indent=2))
    if not (DEST / "config.yaml").is_file():
        # `lmm-apa train` writes the resolved config next to a final adapter, and one level up for a
        # checkpoint's adapter; the config file the run started with is the last resort.
        above = args.adapter.parent / "config.yaml"
        shutil.copy2(above if above.is_file() else args.config, DEST / "config.yaml")
    if not (DEST / "scoring_policy.json").is_file():
        # the blend and thresholds travel with the weights they were tuned with (`infer.policy`)
        print(
            "no scoring_policy.json in the adapter: the shipped model will score with the built-in "
            "default policy (the LMM's own scores); choose one with scripts/choose_lmm_share.py --out "
            f"{DEST / 'scoring_policy.json'}"
        )
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    (DEST / "PROVENANCE.md").write_text(
        "# The shipped default model\n\n"
        f"Trained at commit `{commit}` with\n\n"
        f"    lmm-apa train --config {args.config}\n\n"
        f"(the resolved config is `config.yaml` here), then copied here in float16 with\n\n"
        f"    python scripts/ship_adapter.py {args.adapter} --config {args.config}\n\n{args.note}\n"
    )
    size = sum(f.stat().st_size for f in DEST.iterdir()) / 1e6
    print(f"shipped {args.adapter} -> {DEST} ({size:.1f} MB)")


if __name__ == "__main__":
    main()

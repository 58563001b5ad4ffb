"""`lmm-apa score`: score recordings of known sentences with a trained model."""

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lmm_apa.errors import DataError, LmmApaError
from lmm_apa.interfaces.cli.app import app

console = Console()


def _colour(value: float | None, good: float, fair: float) -> str:
    if value is None:
        return "dim"
    return "green" if value >= good else "yellow" if value >= fair else "red"


# Word keys a forced aligner adds (lmm_apa.data.records); the report shows their columns only then.
_ALIGNMENT_KEYS = ("start", "end", "error_type", "phones-start", "phones-end", "phones-heard")


def render_report(result: dict[str, Any], audio: str) -> None:
    """Sentence scores, then each word with its scores and its phones coloured by score.

    Where a forced aligner ran, also each word's time span and what went wrong (omitted words dim
    and struck through), the phone heard beside the canonical one ("EH0→AE"), and the extra speech.
    """
    console.rule(f'[bold]{audio}[/]  "{result["text"]}"')
    sentence = Table(show_header=True, header_style="bold", box=None)
    aspects = ("accuracy", "completeness", "fluency", "prosodic", "total")
    for a in aspects:
        sentence.add_column(a, justify="right")
    sentence.add_row(*(_fmt(result.get(a)) for a in aspects))
    console.print(sentence)
    aligned = any(k in w for w in result["words"] for k in _ALIGNMENT_KEYS)
    words = Table(show_header=True, header_style="bold", box=None)
    columns = ("word", "time", "error") if aligned else ("word",)
    for col in (*columns, "accuracy", "stress", "total", "phones (accuracy 0-2)"):
        words.add_column(col)
    for w in result["words"]:
        omitted = w.get("error_type") == "omission"
        n = len(w["phones"])
        phones = Text(style="dim" if omitted else "")
        accs = w.get("phones-accuracy") or [None] * n
        for sym, acc, heard in zip(w["phones"], accs, w.get("phones-heard") or [None] * n, strict=True):
            phones.append(f"{sym}", style=_colour(acc, 1.5, 1.0))
            if heard:
                phones.append(f"→{heard}", style="bold red")
            phones.append(f" {_fmt(acc, 1)}  ", style="dim")
        acc = w.get("accuracy")
        word_style = "dim strike" if omitted else f"bold {_colour(acc, 8, 5)}"
        cells = [Text(w["text"], style=word_style)]
        if aligned:
            cells += [_span(w), _error(w.get("error_type"))]
        words.add_row(*cells, _fmt(acc), _fmt(w.get("stress")), _fmt(w.get("total")), phones)
    console.print(words)
    for ins in result.get("insertions") or []:
        console.print(f"[yellow]extra speech:[/] {_seconds(ins['start'], ins['end'])} {_where(ins, result)}")
    for problem in result.get("problems", []):
        console.print(f"[yellow]note:[/] {problem}")


def _seconds(start: float, end: float) -> str:
    return f"{start:.2f}-{end:.2f} s"


def _span(word: dict[str, Any]) -> Text:
    if word.get("start") is None or word.get("end") is None:
        return Text("-", style="dim")
    return Text(_seconds(word["start"], word["end"]))


def _error(error_type: str | None) -> Text:
    """Azure's error types, as a reader says them; 'none' is left blank so the errors stand out."""
    if error_type == "omission":
        return Text("omitted", style="dim")
    if error_type == "mispronunciation":
        return Text("mispronounced", style="red")
    return Text("" if error_type in (None, "none") else error_type)


def _where(insertion: dict[str, Any], result: dict[str, Any]) -> str:
    """'after WE' / 'before WE' (the first word) for an insertion's `after_word`."""
    words = result["words"]
    i = insertion["after_word"]
    if i < 0:
        return f"before {words[0]['text']}" if words else "before the first word"
    return f"after {words[i]['text']}" if i < len(words) else f"after word {i}"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def read_manifest(path: Path) -> list[tuple[str, str, str]]:
    """(utt_id, audio, text) rows of a CSV (header audio,text[,utt_id]) or JSON Lines manifest.

    Relative audio paths are taken relative to the manifest's folder.
    """
    if not path.is_file():
        raise DataError(f"manifest {path} does not exist")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() in (".jsonl", ".json"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{n}: not JSON ({e.msg})") from e
    else:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    items = []
    for n, row in enumerate(rows, 1):
        if not row.get("audio") or not row.get("text"):
            raise DataError(f"{path}: row {n} needs both 'audio' and 'text' fields")
        audio = Path(row["audio"])
        audio = audio if audio.is_absolute() else path.parent / audio
        items.append((str(row.get("utt_id") or audio.stem), str(audio), str(row["text"])))
    return items


@app.command()
def score(
    audio: Annotated[list[Path] | None, typer.Argument(help="Recordings to score.")] = None,
    text: Annotated[str | None, typer.Option(help="The sentence the speaker read (for every AUDIO).")] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="CSV (columns audio,text[,utt_id]) or JSONL of recordings to score.")
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="default, zero-shot, evidence (the aligner alone), an adapter or a Qwen2-Audio folder."
        ),
    ] = "default",
    listen: Annotated[
        bool,
        typer.Option(
            help="Align the text first: times, omissions, heard phones (--no-listen: the LMM alone)."
        ),
    ] = True,
    mode: Annotated[str, typer.Option(help="onepass (expected scores), twopass or generate.")] = "onepass",
    as_json: Annotated[bool, typer.Option("--json", help="Print the corpus schema as JSON Lines.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON Lines to this file.")] = None,
) -> None:
    """Score recordings: sentence, word and phone scores of how well each was read."""
    items: list[tuple[str, str, str]] = []
    if manifest is not None:
        items += read_manifest(manifest)
    if audio:
        if not text:
            raise DataError("--text is required with AUDIO (the sentence the speaker read)")
        items += [(a.stem, str(a), text) for a in audio]
    if not items:
        raise DataError("nothing to score: give AUDIO with --text, or --manifest")

    from lmm_apa.infer.scorer import load_scorer

    with console.status("loading model"):
        scorer = load_scorer(model, mode=mode, listen=listen)
    sink = out.open("w") if out else None
    failures = 0
    batch = len(items) > 1 and (sink is not None or as_json)
    from rich.progress import track

    iterator = track(items, description="scoring", console=Console(stderr=True)) if batch else items
    for utt_id, path, sentence in iterator:
        try:
            result = scorer.assess_text(path, sentence, utt_id=utt_id).to_json()
        except LmmApaError as e:
            failures += 1
            Console(stderr=True).print(f"[red]failed[/] {path}: {e}")
            if sink:
                sink.write(json.dumps({"utt_id": utt_id, "audio": path, "error": str(e)}) + "\n")
            continue
        line = json.dumps(result)
        if sink:
            sink.write(line + "\n")
        if as_json:
            print(line)
        elif not sink:
            render_report(result, path)
    if sink:
        sink.close()
        console.print(f"wrote {len(items) - failures} results to {out}")
    if failures:
        Console(stderr=True).print(f"[red]{failures} of {len(items)} failed[/]")
        sys.exit(1)

"""`lmm-apa score`: score recordings with a trained model, of known sentences or transcribed."""

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from lmm_apa.data.scale100 import FACTORS
from lmm_apa.distributed import Workers
from lmm_apa.errors import DataError, LmmApaError
from lmm_apa.infer import request
from lmm_apa.infer.request import Item, score_many
from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import (
    LmmShare,
    Mode,
    ModeOption,
    OutputFormat,
    PhoneSymbols,
    Precision,
    PrecisionOption,
    Scale,
    WhisperDir,
    whisper_in_use,
)
from lmm_apa.interfaces.cli.output import heading, make_console

# Whole tables when stdout is not a terminal (a file, a pipe): `output.make_console`.
console = make_console()


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
    A result on 0-100 (``"scale": 100``) is shown on 0-100, one with ``phones-ipa`` in IPA, and one
    scored against a transcript says so.
    """
    scaled = result.get("scale") == 100
    sentence_k, word_k, phone_k = (FACTORS[g] if scaled else 1.0 for g in ("sentence", "word", "phone"))
    digits = 0 if scaled else 1
    reference = " (transcribed)" if result.get("reference") == "transcribed" else ""
    heading(console, f'[bold]{audio}[/]{reference}  "{result["text"]}"')
    sentence = Table(show_header=True, header_style="bold", box=None)
    aspects = ("accuracy", "completeness", "fluency", "prosodic", "total")
    for a in aspects:
        sentence.add_column(a, justify="right")
    sentence.add_row(*(_fmt(result.get(a), digits) for a in aspects))
    console.print(sentence)
    aligned = any(k in w for w in result["words"] for k in _ALIGNMENT_KEYS)
    words = Table(show_header=True, header_style="bold", box=None)
    columns = ("word", "time", "error") if aligned else ("word",)
    ipa = any("phones-ipa" in w for w in result["words"])
    phones_title = f"phones{', IPA' if ipa else ''} (accuracy 0-{2 * phone_k:g})"
    for col in (*columns, *(("IPA",) if ipa else ()), "accuracy", "stress", "total", phones_title):
        words.add_column(col)
    for w in result["words"]:
        omitted = w.get("error_type") == "omission"
        n = len(w["phones"])
        phones = Text(style="dim" if omitted else "")
        accs = w.get("phones-accuracy") or [None] * n
        symbols = w["phones-ipa"] if ipa else w["phones"]
        heard_as = (w.get("phones-heard-ipa") if ipa else w.get("phones-heard")) or [None] * n
        for sym, acc, heard in zip(symbols, accs, heard_as, strict=True):
            phones.append(f"{sym}", style=_colour(acc, 1.5 * phone_k, 1.0 * phone_k))
            if heard:
                phones.append(f"→{heard}", style="bold red")
            phones.append(f" {_fmt(acc, digits)}  ", style="dim")
        acc = w.get("accuracy")
        word_style = "dim strike" if omitted else f"bold {_colour(acc, 8 * word_k, 5 * word_k)}"
        cells = [Text(w["text"], style=word_style)]
        if aligned:
            cells += [_span(w), _error(w.get("error_type"))]
        if ipa:
            cells.append(Text(f"/{w['ipa']}/"))
        scores = (_fmt(w.get(a), digits) for a in ("accuracy", "stress", "total"))
        words.add_row(*cells, *scores, phones)
    console.print(words)
    for ins in result.get("insertions") or []:
        console.print(f"[yellow]extra speech:[/] {_seconds(ins['start'], ins['end'])} {_where(ins, result)}")
    for problem in result.get("problems", []):
        console.print(f"[yellow]note:[/] {problem}")
    if result.get("quality"):
        from lmm_apa.data.quality import summary

        console.print(f"[dim]recording: {summary(result['quality'])}[/]")
        for warning in result["quality"]["warnings"]:
            console.print(f"[yellow]warning:[/] {warning}")


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


def read_manifest(path: Path) -> list[tuple[str, str, str | None]]:
    """(utt_id, audio, text) rows of a CSV (header audio,text[,utt_id]) or JSON Lines manifest.

    Relative audio paths are taken relative to the manifest's folder. A row without text (an empty
    cell, or no text column) is unscripted speech: its text is None, and it is transcribed.
    """
    if not path.is_file():
        raise DataError(f"manifest {path} does not exist")
    try:
        rows = _manifest_rows(path)
    except UnicodeDecodeError as e:
        raise DataError(f"manifest {path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    items = []
    for n, row in enumerate(rows, 1):
        if not row.get("audio"):
            raise DataError(f"{path}: row {n} has no 'audio' field")
        audio = Path(str(row["audio"]))
        audio = audio if audio.is_absolute() else path.parent / audio
        text = str(row["text"]) if row.get("text") and str(row["text"]).strip() else None
        items.append((str(row.get("utt_id") or audio.stem), str(audio), text))
    return items


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    """The manifest's rows as dicts: JSON Lines (.jsonl, .json) or CSV with a header."""
    if path.suffix.lower() not in (".jsonl", ".json"):
        with path.open(newline="") as f:
            return list(csv.DictReader(f))
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise DataError(f'{path}:{n}: not a JSON object (expected {{"audio": ..., "text": ...}})')
        rows.append(row)
    return rows


class CsvSink:
    """`--format csv`: one row per word (`csv_rows`), the header first."""

    def __init__(self, stream: Any, ipa: bool = False) -> None:
        from lmm_apa.interfaces.csv_rows import columns

        self.writer = csv.DictWriter(stream, fieldnames=columns(ipa), restval="", extrasaction="ignore")
        self.writer.writeheader()

    def result(self, result: dict[str, Any], audio: str) -> None:
        from lmm_apa.interfaces.csv_rows import word_rows

        self.writer.writerows(word_rows(result, audio))

    def error(self, utt_id: str, audio: str, message: str) -> None:
        from lmm_apa.interfaces.csv_rows import error_row

        self.writer.writerow(error_row(utt_id, audio, message))


@app.command()
def score(
    audio: Annotated[list[Path] | None, typer.Argument(help="Recordings to score.")] = None,
    text: Annotated[
        str | None,
        typer.Option(
            help="The sentence the speaker read (for every AUDIO). Left out: unscripted speech, "
            "transcribed by Whisper-base and scored against its transcript."
        ),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="CSV (columns audio,text[,utt_id]) or JSONL of recordings to score; rows without "
            "text are transcribed."
        ),
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
    mode: ModeOption = Mode.onepass,
    precision: PrecisionOption = Precision.auto,
    lmm_share: LmmShare = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the corpus schema as JSON Lines.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the results to this file (see --format).")] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            help="jsonl (the corpus schema, one recording a line; the default) or csv (one row per "
            "word, with its recording's scores; to --out, or to stdout without it). Default: csv for "
            "an --out ending in .csv, else jsonl.",
        ),
    ] = None,
    phones: Annotated[
        PhoneSymbols, typer.Option(help="arpabet, or ipa: also each phone and word in IPA, stress marked.")
    ] = PhoneSymbols.arpabet,
    scale: Annotated[
        Scale,
        typer.Option(
            help="10: the corpus scales (sentence and word 0-10, phone 0-2); 100: all on 0-100 "
            "(x10, phone x50), in the report and in any JSON or CSV written."
        ),
    ] = Scale.corpus,
    whisper_dir: WhisperDir = None,
) -> None:
    """Score recordings: sentence, word and phone scores of how well each was read."""
    fmt = _check_options(text, out, output_format, as_json)
    items = _items(audio, text, manifest)
    asked = {"ipa": phones is PhoneSymbols.ipa, "scale": int(scale.value)}
    loading = {"mode": mode.value, "listen": listen, "precision": precision.value, "lmm_share": lmm_share}
    # Under a launcher (torchrun, accelerate launch) each process scores its share of the items and
    # the main process alone writes and reports them all (`lmm_apa.distributed`).
    workers = Workers()
    if not workers.is_main:
        _score_elsewhere(model, loading, items, asked, workers)
        return
    with console.status("loading model"):
        scorer = _load(model, loading)
    # Every JSON result says which model, under which scoring policy, and whose Whisper-base weights.
    from lmm_apa.infer.policy import result_meta

    meta = result_meta(scorer, model, whisper_in_use())
    results = score_many(scorer, items, workers=workers, **asked)
    if workers.world > 1:
        mine = sum(len(part) for _, part in workers.my_chunks(items, request.CHUNK))
        make_console(stderr=True).print(f"process 0 of {workers.world}: scoring {mine} recordings")
    failures = _write(results, len(items), out, fmt, as_json, meta, ipa=asked["ipa"])
    if failures:
        make_console(stderr=True).print(f"[red]{failures} of {len(items)} failed[/]")
        sys.exit(1)


def _check_options(
    text: str | None, out: Path | None, output_format: OutputFormat | None, as_json: bool
) -> OutputFormat:
    """The output format (from --out's suffix unless given); refuses what cannot go together."""
    fmt = output_format or (
        OutputFormat.csv if out is not None and out.suffix.lower() == ".csv" else OutputFormat.jsonl
    )
    if fmt is OutputFormat.csv and out is None and as_json:
        raise DataError("--format csv without --out writes CSV to stdout: leave out --json, or give --out")
    if text is not None and not text.strip():
        raise DataError("--text is empty: give the sentence the speaker read, or leave it out to transcribe")
    if out is not None and out.is_dir():
        raise DataError(f"--out {out} is a folder: give the file to write, e.g. {out / 'scores.jsonl'}")
    return fmt


def _items(audio: list[Path] | None, text: str | None, manifest: Path | None) -> list[Item]:
    items: list[Item] = []
    if manifest is not None:
        items += read_manifest(manifest)
    if audio:
        items += [(a.stem, str(a), text) for a in audio]
    if not items:
        raise DataError("nothing to score: give AUDIO (with --text, or without to transcribe), or --manifest")
    return items


def _load(model: str, loading: dict[str, Any]) -> Any:
    """The scorer; its precision said on stderr."""
    from lmm_apa.infer.scorer import load_scorer

    scorer = load_scorer(model, **loading)
    lmm = getattr(scorer, "lmm", None)
    if lmm is not None and getattr(lmm, "precision", None) is not None:
        make_console(stderr=True).print(f"precision: {lmm.precision}")
    return scorer


def _score_elsewhere(
    model: str, loading: dict[str, Any], items: list[Item], asked: dict[str, Any], workers: Workers
) -> None:
    """A launched process other than the main one: score its share; the main one writes it."""
    from lmm_apa.infer.scorer import load_scorer

    scorer = load_scorer(model, **loading)
    mine = sum(len(part) for _, part in workers.my_chunks(items, request.CHUNK))
    for _ in score_many(scorer, items, workers=workers, **asked):
        pass
    make_console(stderr=True).print(f"process {workers.rank} of {workers.world}: scored {mine} recordings")


def _write(
    results: Iterator[tuple[str, Any, dict[str, Any] | LmmApaError]],
    n: int,
    out: Path | None,
    fmt: OutputFormat,
    as_json: bool,
    meta: dict[str, Any],
    ipa: bool,
) -> int:
    """Each result to --out (JSONL or CSV), as JSON to stdout (--json), or as a report; -> failures."""
    from rich.progress import track

    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)  # as `evaluate --predictions-out` does
    sink = out.open("w", newline="") if out else None
    # CSV rows go to --out, or to stdout (instead of the report) without it.
    rows = CsvSink(sink or sys.stdout, ipa=ipa) if fmt is OutputFormat.csv else None
    if n > 1 and (sink is not None or as_json or rows is not None):
        results = track(results, total=n, description="scoring", console=make_console(stderr=True))
    failures = 0
    for utt_id, path, result in results:
        if isinstance(result, LmmApaError):
            failures += 1
            make_console(stderr=True).print(f"[red]failed[/] {path}: {result}")
            if rows:
                rows.error(utt_id, path, str(result))
            elif sink:
                sink.write(json.dumps({"utt_id": utt_id, "audio": path, "error": str(result)}) + "\n")
            continue
        line = json.dumps({**result, "meta": meta}, ensure_ascii=False)
        if rows:
            rows.result(result, path)
        elif sink:
            sink.write(line + "\n")
        if as_json:
            print(line)
        elif not sink and not rows:
            render_report(result, path)
    if sink:
        sink.close()
        console.print(f"wrote {n - failures} results to {out}")
    return failures

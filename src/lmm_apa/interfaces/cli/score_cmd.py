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
from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import WhisperDir, whisper_in_use
from lmm_apa.interfaces.cli.output import heading, make_console
from lmm_apa.models.precision import check_precision

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
        if not row.get("audio"):
            raise DataError(f"{path}: row {n} has no 'audio' field")
        audio = Path(row["audio"])
        audio = audio if audio.is_absolute() else path.parent / audio
        text = str(row["text"]) if row.get("text") and str(row["text"]).strip() else None
        items.append((str(row.get("utt_id") or audio.stem), str(audio), text))
    return items


def score_one(
    scorer: Any, audio: str, text: str | None, utt_id: str, ipa: bool = False, scale: int = 10
) -> dict[str, Any]:
    """One recording's result (`ScoreResult.to_json()`): of ``text``, or of its transcript when
    ``text`` is None (`lmm_apa.infer.transcribe`); IPA added and on 0-100 when asked."""
    if text is None:
        from lmm_apa.infer.transcribe import score_unscripted

        result = score_unscripted(scorer, audio, utt_id)
    else:
        result = scorer.assess_text(audio, text, utt_id=utt_id).to_json()
    return as_asked(result, ipa=ipa, scale=scale)


def as_asked(result: dict[str, Any], ipa: bool = False, scale: int = 10) -> dict[str, Any]:
    """A result with IPA added and on 0-100 when asked."""
    if ipa:
        from lmm_apa.data.ipa import add_ipa

        add_ipa(result)
    if scale == 100:
        from lmm_apa.data.scale100 import to_scale_100

        result = to_scale_100(result)
    return result


# Recordings read and scored together (`Scorer.assess_texts` batches their one-pass forwards).
CHUNK = 32


def score_many(
    scorer: Any,
    items: list[tuple[str, str, str | None]],
    ipa: bool = False,
    scale: int = 10,
    workers: Workers | None = None,
) -> Iterator[tuple[str, str, dict[str, Any] | LmmApaError]]:
    """(utt_id, audio, result or its error) for each item, in order: `score_one` for each, except
    that the recordings with a text are scored `CHUNK` at a time where the scorer can batch them.

    Under several launched processes (``workers``) each scores its own chunks; the main process
    yields every item's result, in order, once all are gathered, and the others yield nothing.
    """
    if workers is None or workers.world == 1:  # one process: results as they come
        for start in range(0, len(items), CHUNK):
            yield from _score_chunk(scorer, items[start : start + CHUNK], ipa, scale)
        return
    done = [
        (start, _score_chunk(scorer, part, ipa, scale)) for start, part in workers.my_chunks(items, CHUNK)
    ]
    gathered = workers.gather(done)
    if workers.is_main:
        for results in gathered:
            yield from results


def _score_chunk(
    scorer: Any, part: list[tuple[str, str, str | None]], ipa: bool, scale: int
) -> list[tuple[str, str, dict[str, Any] | LmmApaError]]:
    batches = callable(getattr(scorer, "assess_texts", None))
    scripted = [i for i, (_, _, text) in enumerate(part) if text is not None] if batches else []
    done: dict[int, Any] = {}
    if len(scripted) > 1:
        results = scorer.assess_texts([(part[i][1], part[i][2], part[i][0]) for i in scripted])
        done = dict(zip(scripted, results, strict=True))
    out: list[tuple[str, str, dict[str, Any] | LmmApaError]] = []
    for i, (utt_id, path, text) in enumerate(part):
        try:
            if i not in done:
                out.append((utt_id, path, score_one(scorer, path, text, utt_id, ipa=ipa, scale=scale)))
            elif isinstance(done[i], LmmApaError):
                out.append((utt_id, path, done[i]))
            else:
                out.append((utt_id, path, as_asked(done[i].to_json(), ipa=ipa, scale=scale)))
        except LmmApaError as e:
            out.append((utt_id, path, e))
    return out


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
    mode: Annotated[str, typer.Option(help="onepass (expected scores), twopass or generate.")] = "onepass",
    precision: Annotated[
        str,
        typer.Option(
            help="auto (bf16 on CUDA or a CPU with bf16 matrix instructions, else fp32), fp32 or bf16.",
            callback=check_precision,
        ),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the corpus schema as JSON Lines.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the results to this file (see --format).")] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="jsonl (the corpus schema, one recording a line; the default) or csv (one row per "
            "word, with its recording's scores; to --out, or to stdout without it). Default: csv for "
            "an --out ending in .csv, else jsonl.",
        ),
    ] = None,
    phones: Annotated[
        str, typer.Option(help="arpabet, or ipa: also each phone and word in IPA, stress marked.")
    ] = "arpabet",
    scale: Annotated[
        int,
        typer.Option(
            help="10: the corpus scales (sentence and word 0-10, phone 0-2); 100: all on 0-100 "
            "(x10, phone x50), in the report and in any JSON or CSV written."
        ),
    ] = 10,
    whisper_dir: WhisperDir = None,
) -> None:
    """Score recordings: sentence, word and phone scores of how well each was read."""
    if phones not in ("arpabet", "ipa"):
        raise DataError(f"--phones {phones!r}: choose arpabet or ipa")
    if scale not in (10, 100):
        raise DataError(f"--scale {scale}: choose 10 (the corpus scales) or 100")
    fmt = output_format or ("csv" if out is not None and out.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise DataError(f"--format {fmt!r}: choose jsonl or csv")
    if fmt == "csv" and out is None and as_json:
        raise DataError("--format csv without --out writes CSV to stdout: leave out --json, or give --out")
    if text is not None and not text.strip():
        raise DataError("--text is empty: give the sentence the speaker read, or leave it out to transcribe")
    items: list[tuple[str, str, str | None]] = []
    if manifest is not None:
        items += read_manifest(manifest)
    if audio:
        items += [(a.stem, str(a), text) for a in audio]
    if not items:
        raise DataError("nothing to score: give AUDIO (with --text, or without to transcribe), or --manifest")

    from lmm_apa.infer.scorer import load_scorer

    # Under a launcher (torchrun, accelerate launch) each process scores its share of the items and
    # the main process alone writes and reports them all (`lmm_apa.distributed`).
    workers = Workers()
    if not workers.is_main:
        scorer = load_scorer(model, mode=mode, listen=listen, precision=precision)
        mine = sum(len(part) for _, part in workers.my_chunks(items, CHUNK))
        for _ in score_many(scorer, items, ipa=phones == "ipa", scale=scale, workers=workers):
            pass
        make_console(stderr=True).print(
            f"process {workers.rank} of {workers.world}: scored {mine} recordings"
        )
        return
    with console.status("loading model"):
        scorer = load_scorer(model, mode=mode, listen=listen, precision=precision)
    lmm = getattr(scorer, "lmm", None)
    if lmm is not None and getattr(lmm, "precision", None) is not None:
        make_console(stderr=True).print(f"precision: {lmm.precision}")
    # Every JSON result says which model and whose Whisper-base weights scored it.
    whisper = whisper_in_use()
    meta = {"model": model, **({"whisper": whisper} if whisper is not None else {})}
    sink = out.open("w", newline="") if out else None
    # CSV rows go to --out, or to stdout (instead of the report) without it.
    rows = CsvSink(sink or sys.stdout, ipa=phones == "ipa") if fmt == "csv" else None
    failures = 0
    batch = len(items) > 1 and (sink is not None or as_json or rows is not None)
    from rich.progress import track

    results = score_many(scorer, items, ipa=phones == "ipa", scale=scale, workers=workers)
    if workers.world > 1:
        mine = sum(len(part) for _, part in workers.my_chunks(items, CHUNK))
        make_console(stderr=True).print(f"process 0 of {workers.world}: scoring {mine} recordings")
    if batch:
        results = track(results, total=len(items), description="scoring", console=make_console(stderr=True))
    for utt_id, path, result in results:
        if isinstance(result, LmmApaError):
            e = result
            failures += 1
            make_console(stderr=True).print(f"[red]failed[/] {path}: {e}")
            if rows:
                rows.error(utt_id, path, str(e))
            elif sink:
                sink.write(json.dumps({"utt_id": utt_id, "audio": path, "error": str(e)}) + "\n")
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
        console.print(f"wrote {len(items) - failures} results to {out}")
    if failures:
        make_console(stderr=True).print(f"[red]{failures} of {len(items)} failed[/]")
        sys.exit(1)

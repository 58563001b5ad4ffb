"""Bad input through `lmm-apa score --json`: each must be a handled result with warnings or a clear
error naming the problem; never a traceback, a hang, or scores for speech that is not there.

    OMP_NUM_THREADS=2 .venv/bin/python bench/bad_input.py --data ../shared/speechocean762 \\
        --out bench/results/robustness/bad_input

The inputs are made from one train recording ("WE CALL IT BEAR"): noise only, music (a chord
progression), 25 s of silence with 1 s of speech in it, the recording clipped (x20), a stereo file
with one channel silent (webm/opus), a corrupt m4a (its header kept, the rest zeroed), a 10-minute
m4a; and, as references, the recording as FLAC, m4a and webm.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from audio_codecs import encode  # noqa: E402

SR = 16000
BEAR = "WAVE/SPEAKER0001/000010011.flac"
TEXT = "WE CALL IT BEAR"


def make_inputs(corpus: Path, folder: Path) -> dict[str, Path]:
    wave, sr = sf.read(corpus / BEAR, dtype="float32")
    rng = np.random.default_rng(0)
    t = np.arange(8 * SR) / SR
    chords = [(261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6), (196.0, 246.9, 293.7)]
    music = np.zeros_like(t)
    for k, chord in enumerate(chords):
        part = (t >= 2 * k) & (t < 2 * k + 2)
        for f in chord:
            music[part] += 0.1 * np.sin(2 * np.pi * f * t[part]) * np.exp(-(t[part] - 2 * k))
    speech = wave[int(0.5 * sr) : int(2.1 * sr)]
    files = {
        "clean FLAC": corpus / BEAR,
        "clean m4a": encode(wave, sr, folder / "bear_m4a.m4a"),
        "clean webm": encode(wave, sr, folder / "bear_webm.webm"),
        "noise only": folder / "noise.wav",
        "music": folder / "music.wav",
        "25 s silence, 1 s speech": folder / "mostly_silence.wav",
        "clipped (x20)": folder / "clipped.wav",
        "stereo, one channel silent": encode(wave, sr, folder / "one_channel.webm", channels=2),
        "corrupt m4a": folder / "corrupt.m4a",
        "10-minute m4a": encode(
            (0.1 * rng.standard_normal(600 * 8000)).astype(np.float32), 8000, folder / "long.m4a"
        ),
    }
    sf.write(files["noise only"], (0.1 * rng.standard_normal(4 * SR)).astype(np.float32), SR)
    sf.write(files["music"], music.astype(np.float32), SR)
    silence = np.zeros(12 * SR, np.float32)
    sf.write(files["25 s silence, 1 s speech"], np.concatenate([silence, speech, silence]), SR)
    sf.write(files["clipped (x20)"], np.clip(wave * 20, -1, 1), sr)
    good = files["clean m4a"].read_bytes()
    files["corrupt m4a"].write_bytes(good[:64] + bytes(len(good) - 64))
    return files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--model", default="default")
    p.add_argument("--out", default="bench/results/robustness/bad_input")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = make_inputs(Path(args.data), Path(tmp))
        cli = [sys.executable, "-c", "from lmm_apa.interfaces.cli import main; main()", "score"]
        t0 = time.perf_counter()
        done = subprocess.run(
            [*cli, *map(str, files.values()), "--text", TEXT, "--model", args.model, "--json"],
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
    # results go to stdout as JSON lines (utt_id: the file's stem), errors to stderr ("failed PATH: why")
    scored = {r["utt_id"]: r for r in map(json.loads, filter(None, done.stdout.splitlines()))}
    failed = {}
    for text in done.stderr.splitlines():
        if text.startswith("failed "):
            path, _, why = text[len("failed ") :].partition(": ")
            failed[Path(path).stem] = why
    rows = []
    for name, path in files.items():
        stem = Path(path).stem
        line = scored.get(stem)
        if line is None:
            rows.append({"input": name, "outcome": "error", "detail": failed.get(stem, "(no result)")})
        else:
            q = line.get("quality", {})
            rows.append(
                {
                    "input": name,
                    "outcome": f"scored: total {line['total']:.2f}",
                    "detail": "; ".join(q.get("warnings", [])) or "no warnings",
                    "quality": {k: v for k, v in q.items() if k != "warnings"},
                }
            )
    report = {
        "returncode": done.returncode,
        "traceback": "Traceback" in done.stderr,
        "seconds": round(seconds, 1),
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = [
        f"# Bad input through `lmm-apa score --json --model {args.model}` ({seconds:.0f} s, "
        f"exit code {done.returncode}, traceback: {report['traceback']})",
        "",
        "| input | outcome | warnings or error |",
        "|---|---|---|",
        *(f"| {r['input']} | {r['outcome']} | {r['detail']} |" for r in rows),
    ]
    (out.parent / f"{out.name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    if len(scored) + len(failed) != len(files):
        print(done.stderr[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()

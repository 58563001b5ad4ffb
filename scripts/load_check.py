"""Load check of the web API: N concurrent POST /score requests on loopback with real corpus audio.

Reports latency percentiles of the answered requests, how many were answered (200) and how many were
cleanly refused (503 + Retry-After), and fails (exit 1) on anything else: other statuses, transport
errors or timeouts. Not a test: it takes as long as the model needs.

    # the app with the shipped default model, in this process (uvicorn in a thread):
    python scripts/load_check.py --model default
    # any scorer factory, e.g. the tests' deterministic double (no model at all):
    python scripts/load_check.py --scorer tests/interfaces/web/scorer_double.py:EnergyScorer
    # a server that is already running (`lmm-apa serve`):
    python scripts/load_check.py --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

DEFAULT_AUDIO = Path(__file__).resolve().parents[2] / "shared/speechocean762/WAVE/SPEAKER0001/000010011.flac"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group()
    target.add_argument("--url", help="Target a running server instead of starting one.")
    target.add_argument("--model", default="default", help="load_scorer() model for the in-process app.")
    target.add_argument(
        "--scorer", help="Scorer factory for the in-process app: FILE.py:NAME or module:NAME."
    )
    p.add_argument("--mode", default="onepass", help="Scoring mode with --model.")
    p.add_argument("--precision", default="auto", help="auto | fp32 | bf16 with --model, as `lmm-apa serve`.")
    p.add_argument("--requests", type=int, default=50, help="Requests to send, all at once.")
    p.add_argument("--max-queue", type=int, default=8, help="Queue size of the in-process app.")
    p.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="Recording to send.")
    p.add_argument("--text", default="WE CALL IT BEAR", help="Its sentence.")
    p.add_argument("--timeout", type=float, default=300.0, help="Per-request timeout, seconds.")
    p.add_argument("--json", type=Path, help="Also write the report here.")
    args = p.parse_args()

    audio = args.audio.read_bytes()
    with _server(args) as (url, name):
        print(f"target {url} (scorer: {name}); {args.requests} concurrent requests, {len(audio)} B audio")
        report = asyncio.run(_fire(url, audio, args.text, args.requests, args.timeout))
    report["scorer"] = name
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


@contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """(base URL, scorer name): the given --url, or the app started here on a free loopback port."""
    if args.url:
        yield args.url.rstrip("/"), "remote"
        return
    from lmm_apa.interfaces.web import Limits, create_app
    from lmm_apa.interfaces.web.server import serve_in_background

    if args.scorer:
        factory, name = _import(args.scorer), args.scorer
    else:
        from lmm_apa.infer.scorer import load_scorer

        def factory():
            return load_scorer(args.model, mode=args.mode, precision=args.precision)

        name = f"{args.model} ({args.mode})"
    app = create_app(factory, model_name=name, limits=Limits(max_queue=args.max_queue))
    with serve_in_background(app) as url:
        yield url, name


def _import(spec: str) -> Any:
    where, _, attr = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where).resolve()
        sys.path.insert(0, str(path.parent))  # its folder, so that its own sibling imports work too
        module = importlib.import_module(path.stem)
    else:
        module = importlib.import_module(where)
    return getattr(module, attr)


async def _fire(url: str, audio: bytes, text: str, n: int, timeout: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        health = (await client.get("/health")).json()
        peak = {"in_flight": 0}
        done = asyncio.Event()

        async def watch() -> None:  # the queue depth the server reports while under load
            while not done.is_set():
                h = (await client.get("/health")).json()
                peak["in_flight"] = max(peak["in_flight"], h["in_flight"])
                await asyncio.sleep(0.05)

        async def one() -> tuple[str, float, str]:
            start = time.perf_counter()
            try:
                r = await client.post(
                    "/score", files={"audio": ("rec.flac", audio, "audio/flac")}, data={"text": text}
                )
            except httpx.HTTPError as e:
                return f"error:{type(e).__name__}", time.perf_counter() - start, str(e)
            detail = ""
            if r.status_code == 503 and "Retry-After" not in r.headers:
                detail = "503 without Retry-After"
            elif r.status_code not in (200, 503):
                detail = r.text[:200]
            return str(r.status_code), time.perf_counter() - start, detail

        watcher = asyncio.create_task(watch())
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - t0
        done.set()
        await watcher

    counts = Counter(status for status, _, _ in results)
    problems = [f"{s}: {d}" for s, _, d in results if d]
    return {
        "requests": n,
        "max_queue": health["max_queue"],
        "answered": counts.get("200", 0),
        "refused_503": counts.get("503", 0),
        "other": {k: v for k, v in counts.items() if k not in ("200", "503")},
        "problems": problems[:10],
        "ok": not problems and set(counts) <= {"200", "503"},
        "peak_in_flight": peak["in_flight"],
        "wall_seconds": round(wall, 3),
        "latency_answered": _percentiles([t for s, t, _ in results if s == "200"]),
        "latency_refused": _percentiles([t for s, t, _ in results if s == "503"]),
    }


def _percentiles(times: list[float]) -> dict[str, float] | None:
    if not times:
        return None
    p50, p90, p99 = np.percentile(times, [50, 90, 99])
    return {"n": len(times), "p50": round(p50, 3), "p90": round(p90, 3), "p99": round(p99, 3)}


def _print(r: dict[str, Any]) -> None:
    print(
        f"answered {r['answered']}, refused (503) {r['refused_503']}, other {r['other'] or 0} "
        f"of {r['requests']} in {r['wall_seconds']} s (max_queue {r['max_queue']}, "
        f"peak in flight {r['peak_in_flight']})"
    )
    for kind in ("answered", "refused"):
        lat = r[f"latency_{kind}"]
        if lat:
            print(
                f"  latency {kind:8s} n={lat['n']:3d}  p50 {lat['p50']:.3f} s  p90 {lat['p90']:.3f} s  "
                f"p99 {lat['p99']:.3f} s"
            )
    for problem in r["problems"]:
        print(f"  problem: {problem}")
    print("OK" if r["ok"] else "FAILED")


if __name__ == "__main__":
    sys.exit(main())

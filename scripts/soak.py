"""Soak test of the web API: steady load on loopback; every request answered or cleanly refused, memory flat.

    OMP_NUM_THREADS=2 python scripts/soak.py --model default --seconds 300 --clients 12
    python scripts/soak.py --scorer tests/interfaces/web/scorer_double.py:EnergyScorer --seconds 30

The app runs in this process (uvicorn in a thread, as `scripts/load_check.py` runs it), so the
server's memory is this process's resident set, sampled every second. ``--clients`` clients each
send a dev recording with its own sentence (round robin over ``--n`` of the dev split) as soon as
their previous answer came; a refused one waits its Retry-After (at most 1 s) and sends the next.
Then a burst: ``--burst`` requests at once (the load check's 50), in the same server.

Fails (exit 1) on any answer but 200 or 503 with Retry-After, on transport errors or timeouts, and
when the RSS at the end of the steady load is more than 10% above the RSS after ``--warmup`` s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_check import _fire, _import, _percentiles  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def steady(url: str, recordings: list[tuple[bytes, str]], args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients + 2)
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    problems: list[str] = []
    rss: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    stop = t0 + args.seconds
    counter = iter(range(10**9))

    async def client(c: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            audio, text = recordings[next(counter) % len(recordings)]
            start = time.perf_counter()
            try:
                r = await c.post(
                    "/score", files={"audio": ("rec.flac", audio, "audio/flac")}, data={"text": text}
                )
            except httpx.HTTPError as e:
                statuses[f"error:{type(e).__name__}"] += 1
                problems.append(str(e))
                continue
            statuses[str(r.status_code)] += 1
            if r.status_code == 200:
                latencies.append(time.perf_counter() - start)
            elif r.status_code == 503 and "Retry-After" in r.headers:
                await asyncio.sleep(min(1.0, float(r.headers["Retry-After"])))
            else:
                problems.append(f"{r.status_code}: {r.text[:200]}")

    async def sample() -> None:
        while time.perf_counter() < stop:
            rss.append((time.perf_counter() - t0, rss_mb()))
            await asyncio.sleep(1.0)

    async with httpx.AsyncClient(base_url=url, timeout=args.timeout, limits=limits) as c:
        await asyncio.gather(sample(), *(client(c) for _ in range(args.clients)))
    wall = time.perf_counter() - t0
    after_warmup = next((m for t, m in rss if t >= args.warmup), rss[0][1])
    end = rss[-1][1]
    return {
        "seconds": round(wall, 1),
        "clients": args.clients,
        "statuses": dict(statuses),
        "answered_per_s": round(statuses["200"] / wall, 3),
        "latency_answered": _percentiles(latencies),
        "problems": problems[:10],
        "rss_mb_after_warmup": round(after_warmup, 1),
        "rss_mb_end": round(end, 1),
        "rss_mb_max": round(max(m for _, m in rss), 1),
        "rss_growth": round(end / after_warmup - 1, 4),
        "rss_samples": [(round(t, 1), round(m, 1)) for t, m in rss],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group()
    target.add_argument("--model", default="default", help="load_scorer() model for the in-process app.")
    target.add_argument("--scorer", help="Scorer factory: FILE.py:NAME or module:NAME.")
    p.add_argument("--precision", default="auto")
    p.add_argument("--data", default=str(REPO.parent / "shared" / "speechocean762"))
    p.add_argument("--n", type=int, default=20, help="dev recordings to send, round robin")
    p.add_argument("--seconds", type=float, default=300.0, help="duration of the steady load")
    p.add_argument("--warmup", type=float, default=30.0, help="RSS is compared with its value at this time")
    p.add_argument("--clients", type=int, default=12, help="concurrent clients of the steady load")
    p.add_argument("--burst", type=int, default=50, help="requests at once after the steady load (0: none)")
    p.add_argument("--max-queue", type=int, default=8)
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", type=Path, help="Also write the report here.")
    args = p.parse_args()

    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample
    from lmm_apa.interfaces.web import Limits, create_app
    from lmm_apa.interfaces.web.server import serve_in_background

    utts = spread_sample(load_split(args.data, "dev"), args.n, seed=0)
    recordings = [(Path(u.audio_path).read_bytes(), u.text) for u in utts]
    if args.scorer:
        factory, name = _import(args.scorer), args.scorer
    else:
        from lmm_apa.infer.scorer import load_scorer

        def factory():
            return load_scorer(args.model, precision=args.precision)

        name = f"{args.model} ({args.precision})"
    limits = Limits(max_queue=args.max_queue, max_batch=args.max_batch)
    with serve_in_background(create_app(factory, model_name=name, limits=limits), startup_timeout=600) as url:
        print(
            f"{url}: {args.clients} clients for {args.seconds:g} s, then a burst of {args.burst}", flush=True
        )
        report: dict[str, Any] = {"scorer": name, "steady": asyncio.run(steady(url, recordings, args))}
        if args.burst:
            audio, text = recordings[0]
            report["burst"] = asyncio.run(_fire(url, audio, text, args.burst, args.timeout))
    s = report["steady"]
    ok = not s["problems"] and set(s["statuses"]) <= {"200", "503"} and s["rss_growth"] <= 0.10
    ok = ok and report.get("burst", {"ok": True})["ok"]
    report["ok"] = ok
    summary = {k: v for k, v in s.items() if k != "rss_samples"}
    print(json.dumps({"steady": summary, "burst": report.get("burst"), "ok": ok}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

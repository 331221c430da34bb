"""Load test of ``evalsuite serve``: throughput and p99 at several concurrencies.

    python bench/serve_load.py                       # starts serve (tiny model, CPU) itself
    python bench/serve_load.py --url http://127.0.0.1:8000/v1 --requests 64

For each concurrency it sends ``--requests`` requests with that many in flight and prints
images/minute, client-side p50/p99 latency and how every request ended (200, 429 from the
bounded queue, other). It exits 1 if a request is unaccounted for or the server stops
answering /health afterwards. Client timing includes the loopback network and JSON/base64
work; it is a test of the serving path, not of FLUX.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass

import httpx
import numpy as np


@dataclass(frozen=True)
class LoadResult:
    """How one concurrency level went."""

    concurrency: int
    sent: int
    outcomes: dict[str, int]  # "200", "429", "500", "error:<type>"
    wall_s: float
    images_per_minute: float
    p50_s: float | None
    p99_s: float | None

    @property
    def accounted(self) -> bool:
        """Every request ended one way or another."""
        return sum(self.outcomes.values()) == self.sent


async def load_level(url: str, concurrency: int, n: int, body: dict, timeout_s: float = 600) -> LoadResult:
    """Send ``n`` requests, ``concurrency`` at a time; record how each one ended."""
    sem = asyncio.Semaphore(concurrency)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            try:
                resp = await client.post(f"{url}/images/generations", json={**body, "seed": i})
                outcomes[str(resp.status_code)] += 1
                if resp.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
            except httpx.HTTPError as exc:
                outcomes[f"error:{type(exc).__name__}"] += 1

    async with httpx.AsyncClient(timeout=timeout_s, limits=httpx.Limits(max_connections=concurrency)) as c:
        start = time.perf_counter()
        await asyncio.gather(*(one(c, i) for i in range(n)))
        wall = time.perf_counter() - start
    p50, p99 = (np.percentile(latencies, [50, 99]).tolist() if latencies else (None, None))
    return LoadResult(concurrency, n, dict(outcomes), wall, 60.0 * len(latencies) / wall, p50, p99)


def healthy(url: str, timeout_s: float = 60) -> bool:
    """True when the server still answers /health."""
    try:
        return httpx.get(url.removesuffix("/v1") + "/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def start_serve(max_queue: int, startup_s: float = 900) -> tuple[subprocess.Popen, str]:
    """``python -m evalsuite serve`` on a free loopback port; (process, base URL) once it is ready."""
    proc = subprocess.Popen([sys.executable, "-m", "evalsuite", "serve", "--port", "0", "--device", "cpu",
                             "--max-queue", str(max_queue)], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + startup_s
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline()  # the first line announces the URL once the model is loaded
        if "serving" in line:
            return proc, line.split(" on ", 1)[1].split()[0]
    proc.kill()
    raise RuntimeError(f"serve did not start (exit {proc.poll()}, last line {line!r})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server's base URL (default: start one)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--requests", type=int, default=32, help="requests per concurrency level")
    ap.add_argument("--max-queue", type=int, default=8, help="for the server this script starts")
    ap.add_argument("--size", default="64x64")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_serve(args.max_queue)
    body = {"prompt": "a red cube on a table", "size": args.size, "num_inference_steps": args.steps}
    try:
        results = [asyncio.run(load_level(url, c, args.requests, body)) for c in args.concurrency]
        alive = healthy(url)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
    if args.json:
        print(json.dumps({"results": [asdict(r) for r in results], "server_up": alive}, indent=2))
    else:
        print(f"{'conc':>4} {'sent':>5} {'img/min':>8} {'p50 s':>7} {'p99 s':>7}  outcomes")
        for r in results:
            fmt = lambda v: f"{v:7.2f}" if v is not None else "      -"  # noqa: E731
            print(f"{r.concurrency:>4} {r.sent:>5} {r.images_per_minute:8.1f} {fmt(r.p50_s)} {fmt(r.p99_s)}  "
                  f"{r.outcomes}")
        print(f"server up afterwards: {alive}")
    return 0 if alive and all(r.accounted for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Benchmark the knowledge engine: start-up time in a fresh process (imports + load, with a warm model
cache and with none), resident memory, per-message latency (understand + answer) on one core after
warm-up, and `ask --jsonl` throughput through a subprocess. Prints a small table; `--json` for JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"startup_s": 2.0, "rss_mb": 300.0, "median_ms": 3.0, "p99_ms": 15.0, "jsonl_msg_per_s": 300.0}

_STARTUP = """
import time, os, json, resource
t0 = time.perf_counter()
from knowledge.engine import get_engine
engine = get_engine()
engine.answer("สวัสดีค่ะ")
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _env(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HELPDESK_CACHE_DIR=cache_dir, PYTHAINLP_OFFLINE="1", PYTHAINLP_READ_ONLY="1",
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env


def _one_core() -> None:
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
    except (AttributeError, OSError):
        pass


def startup(cache_dir: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, check=True,
                         env=_env(cache_dir), cwd=ROOT, preexec_fn=_one_core)
    return json.loads(out.stdout.strip().splitlines()[-1])


def latency(messages: list[dict[str, Any]], rounds: int) -> dict[str, float]:
    _one_core()
    from knowledge.engine import get_engine

    engine = get_engine()
    for m in messages[:50]:  # warm-up
        engine.answer(m["text"], subject=m.get("subject"))
    times: list[float] = []
    for _ in range(rounds):
        for m in messages:
            t = time.perf_counter()
            engine.answer(m["text"], subject=m.get("subject"))
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    import resource

    return {
        "n": len(times),
        "median_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "max_ms": times[-1],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def throughput(messages: list[dict[str, Any]], n: int, cache_dir: str) -> dict[str, float]:
    lines = []
    for i in range(n):
        m = messages[i % len(messages)]
        lines.append(json.dumps({"id": i, "text": m["text"], "subject": m.get("subject")}, ensure_ascii=False))
    payload = ("\n".join(lines) + "\n").encode()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "knowledge.cli", "ask", "--jsonl"], input=payload,
                          capture_output=True, check=True, env=_env(cache_dir), cwd=ROOT, preexec_fn=_one_core)
    total = time.perf_counter() - t0
    out_lines = proc.stdout.decode().splitlines()
    # the rate excludes start-up: time the stream from the first answer on, via a second short run
    t1 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "knowledge.cli", "ask", "--jsonl"], input=lines[0].encode() + b"\n",
                   capture_output=True, check=True, env=_env(cache_dir), cwd=ROOT, preexec_fn=_one_core)
    base = time.perf_counter() - t1
    stream = max(1e-6, total - base)
    return {"lines": len(out_lines), "total_s": total, "startup_s": base, "msg_per_s": (n - 1) / stream,
            "msg_per_s_incl_startup": n / total}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="passes over the training messages for latency")
    ap.add_argument("--lines", type=int, default=3000, help="lines piped through ask --jsonl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from knowledge.engine import default_train_files, read_jsonl

    messages = read_jsonl(default_train_files()) or [{"text": "คอมเปิดไม่ติดค่ะ"}, {"text": "ลืมรหัส DMC"}]
    with tempfile.TemporaryDirectory(prefix="kbench-") as cache_dir:
        os.environ["HELPDESK_CACHE_DIR"] = cache_dir
        cold = startup(cache_dir)  # builds the models and writes the cache
        warm = min((startup(cache_dir) for _ in range(3)), key=lambda r: r["seconds"])
        lat = latency(messages, args.rounds)
        thr = throughput(messages, args.lines, cache_dir)
    res = {
        "startup_s": round(warm["seconds"], 3),
        "startup_no_cache_s": round(cold["seconds"], 3),
        "rss_mb": round(max(warm["rss_mb"], lat["rss_mb"]), 1),
        "median_ms": round(lat["median_ms"], 3),
        "p99_ms": round(lat["p99_ms"], 3),
        "max_ms": round(lat["max_ms"], 3),
        "latency_n": lat["n"],
        "jsonl_msg_per_s": round(thr["msg_per_s"], 1),
        "jsonl_msg_per_s_incl_startup": round(thr["msg_per_s_incl_startup"], 1),
        "jsonl_lines": thr["lines"],
    }
    res["targets_met"] = {
        k: (res[k] <= v if k != "jsonl_msg_per_s" else res[k] >= v) for k, v in TARGETS.items()
    }
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    rows = [
        ("start-up, warm cache (s)", res["startup_s"], "<= 2.0", res["targets_met"]["startup_s"]),
        ("start-up, no cache (s)", res["startup_no_cache_s"], "", None),
        ("peak RSS (MB)", res["rss_mb"], "<= 300", res["targets_met"]["rss_mb"]),
        (f"latency median (ms, n={res['latency_n']})", res["median_ms"], "<= 3", res["targets_met"]["median_ms"]),
        ("latency p99 (ms)", res["p99_ms"], "<= 15", res["targets_met"]["p99_ms"]),
        ("latency max (ms)", res["max_ms"], "", None),
        (f"ask --jsonl ({res['jsonl_lines']} lines, msg/s)", res["jsonl_msg_per_s"], ">= 300",
         res["targets_met"]["jsonl_msg_per_s"]),
        ("ask --jsonl incl. start-up (msg/s)", res["jsonl_msg_per_s_incl_startup"], "", None),
    ]
    print(f"{'measure':<40}{'value':>10}  {'target':<8} ")
    for name, value, target, ok in rows:
        flag = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"{name:<40}{value:>10}  {target:<8} {flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared by the benchmark scripts: run a command in a fresh process and measure it.

Peak memory is the proportional set size (PSS) of the process tree, sampled every 0.1 s, so pages
shared between forked workers count once.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def tree_pss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str], timeout: float | None = None) -> dict:
    """Run ``cmd`` from the project root: wall time (s), peak PSS (MB), exit code, whether it was killed
    at ``timeout``, and its stdout parsed as JSON (whole, else the last line; None if neither is JSON)."""
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    ps = psutil.Process(proc.pid)
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, tree_pss(ps))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        for p in [*ps.children(recursive=True), ps]:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        out, _ = proc.communicate()
        timed_out = True
    elapsed = time.perf_counter() - t0
    stop.set()
    th.join()
    payload = None
    lines = [ln for ln in (out or "").splitlines() if ln.strip()]
    for text in ((out or ""), lines[-1] if lines else ""):   # the whole output, else its last line
        try:
            payload = json.loads(text)
            break
        except json.JSONDecodeError:
            continue
    return {"wall_s": round(elapsed, 2), "peak_pss_mb": round(peak / 2**20, 1), "returncode": proc.returncode,
            "timed_out": timed_out, "result": payload}

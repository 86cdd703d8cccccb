"""Core benchmark: graph build, exposure, policy, the whole audit and the CLI at scale.

Run ``python bench/bench_core.py`` (or ``nox -s bench -- core``). Each size is measured in a
fresh subprocess over a synthetic estate (``bench/synthetic.py``; generation is not timed):

(a) ``graph.build``, (b) ``jurisdiction.exposure`` for every law, (c) ``policy.data_copies`` and
``policy.evaluate`` with the ``swedish-public-sector`` preset, (d) ``pipeline.audit`` from the
estate, and a baseline over the same graph: for each law, a bare breadth-first traversal over
the reversed edges from the law's country (no filtering, no parent pointers, no witness paths);
(e) ``read_estate`` of the estate written as a file, and (f) the CLI,
``residency-audit audit --estate FILE --format json -o OUT``, in a subprocess of its own, its CPU
time from ``resource.getrusage(RUSAGE_CHILDREN)`` and its peak memory from its own ``VmHWM``; the findings it reports and
the size of its JSON report.

This machine is shared: ratios are of CPU time (``time.process_time``), wall time is shown
beside it. Memory is the process's resident set size, sampled every 20 ms during each stage
(``peak``) and its growth over the RSS before the stage (``+peak``), with ``ru_maxrss`` of the
whole child at the end. Targets (issue 13): the audit within 10x of the bare traversal and
linear (per-resource cost at 1M within 1.2x of 100k), under 5 GB; the CLI within 15x, under 8 GB.

Options: ``--sizes 10000,100000`` (default ``10000,100000,1000000``), ``--seed``, ``--budget``
(seconds for the whole run; a size whose estimated time does not fit is skipped and said so),
``--src DIR`` (measure the package found in ``DIR`` instead, e.g. an older commit's ``src`` in
a ``git worktree``; stages an older version lacks are left out), ``--no-cli``, ``--json FILE``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
TODAY = dt.date(2026, 11, 24)
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """The current resident set size of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE


class RssSampler:
    """Samples RSS in a thread while a stage runs and keeps the peak."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def measure(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``fn`` once: its result, wall and CPU seconds, peak RSS and peak growth over the RSS before."""
    gc.collect()
    before = rss_bytes()
    with RssSampler() as sampler:
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return result, {"seconds": wall, "cpu_seconds": cpu, "peak_mb": sampler.peak / 2**20,
                    "growth_mb": (sampler.peak - before) / 2**20}


def bare_bfs(g: Any, countries: list[str]) -> int:
    """Nodes a plain BFS over ``g``'s reversed edges reaches from each country, summed.

    The same work exposure does at its core, without its filtering, phases or witness paths:
    for each law, one traversal from the country that issues it.
    """
    pred = g._pred
    total = 0
    for start in countries:
        seen = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for u in pred[node]:
                if u not in seen:
                    seen.add(u)
                    queue.append(u)
        total += len(seen)
    return total


def _stages(estate: Any, catalog: Any, policy: Any) -> dict[str, Any]:
    """Stages (a)–(c) and the bare traversal over one graph; the graph is dropped on return."""
    from residency_audit.graph import build
    from residency_audit.jurisdiction import exposure
    from residency_audit.policy import data_copies, evaluate

    out: dict[str, Any] = {}
    g, out["build"] = measure(lambda: build(estate, catalog))
    out["nodes"], out["edges"] = g.number_of_nodes(), g.number_of_edges()
    laws = sorted(x for x, k in g.nodes(data="kind") if k == "law")
    starts = [v for law in laws for _, v, rel in g.out_edges(law, data="relation") if rel == "applies_in"]
    out["bfs_visited"], out["bare_bfs"] = measure(lambda: bare_bfs(g, starts))
    reach, out["exposure"] = measure(lambda: exposure(g))
    out["exposure_states"] = sum(r.states if hasattr(r, "states") else len(r._parent)  # an older version
                                 for r in reach.values())

    def policy_stage() -> list[Any]:
        copies = data_copies(g)
        return evaluate(g, reach, policy, gaps=estate.gaps, today=TODAY, copies=copies)

    findings, out["policy"] = measure(policy_stage)
    out["findings"] = len(findings)
    return out


def run_child(n: int, seed: int, *, cli: bool = True) -> dict[str, Any]:
    """Measure every stage for one size, in this process. Returns the figures."""
    sys.path.insert(0, str(HERE))
    from synthetic import synthetic_estate

    from residency_audit.catalog import default_catalog
    from residency_audit.pipeline import audit
    from residency_audit.policy import load_policy

    catalog = default_catalog()
    policy = load_policy("swedish-public-sector")
    t0 = time.perf_counter()
    estate = synthetic_estate(n, seed=seed, catalog=catalog)
    gen_seconds = time.perf_counter() - t0
    import residency_audit

    out: dict[str, Any] = {"n": n, "seed": seed, "generate_seconds": gen_seconds,
                           "estate_rss_mb": rss_bytes() / 2**20,
                           "package": str(Path(residency_audit.__file__).parent)}

    out.update(_stages(estate, catalog, policy))
    gc.collect()
    result, out["audit"] = measure(lambda: audit(estate, policy=policy, catalog=catalog, today=TODAY))
    out["audit_findings"] = len(result.findings)
    del result
    gc.collect()
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if cli:
        out.update(_cli_stage(estate, n))
    return out


# The CLI's peak memory is its own high-water mark (VmHWM), read as it ends: ``ru_maxrss`` of a
# child started from this (large) process counts this process's resident pages, shared with the
# child until it runs the new program.
_CLI_LAUNCHER = """\
import runpy, sys
out, sys.argv = sys.argv[1], ["residency-audit", *sys.argv[2:]]
try:
    runpy.run_module("residency_audit", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status", encoding="ascii") as fh:
        hwm = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    with open(out, "w", encoding="ascii") as fh:
        fh.write(hwm)
"""


def _cli_stage(estate: Any, n: int) -> dict[str, Any]:
    """Write the estate to a file, read it back (timed) and run the CLI over it in a subprocess."""
    import tempfile

    from residency_audit.estate_io import read_estate, write_estate

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        path = Path(tmp) / "estate.json"
        write_estate(estate, path)
        del estate
        gc.collect()
        out["estate_file_mb"] = path.stat().st_size / 2**20
        read, out["read_estate"] = measure(lambda: read_estate(path))
        del read
        gc.collect()
        report = Path(tmp) / "report.json"
        hwm = Path(tmp) / "hwm"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CLI_LAUNCHER, str(hwm), "-q", "audit", "--estate", str(path),
                               "--format", "json", "-o", str(report), "--fail-on", "none",
                               "--today", TODAY.isoformat()], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"CLI at {n} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        peak = int(hwm.read_text(encoding="ascii")) / 1024  # VmHWM, KiB
        out["cli"] = {"seconds": wall, "cpu_seconds": cpu, "peak_mb": peak, "growth_mb": peak}
        out["report_mb"] = report.stat().st_size / 2**20
        with report.open(encoding="utf-8") as fh:
            out["report_findings"] = len(json.load(fh)["findings"])
    return out


STAGES = ("build", "bare_bfs", "exposure", "policy", "audit", "read_estate", "cli")
RATIO_STAGES = ("exposure", "policy", "audit", "cli")


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a plain text table, one row per size and stage; ratios of CPU time."""
    lines = [f"{'resources':>10} {'stage':<11} {'seconds':>9} {'cpu s':>8} {'cpu us/res':>10} {'peak MB':>9} "
             f"{'+peak MB':>9} {'x bare BFS':>11}"]
    for r in rows:
        base = r["bare_bfs"]["cpu_seconds"]
        for stage in STAGES:
            if stage not in r:
                continue
            m = r[stage]
            ratio = f"{m['cpu_seconds'] / base:>11.1f}" if stage in RATIO_STAGES else f"{'':>11}"
            lines.append(f"{r['n']:>10} {stage:<11} {m['seconds']:>9.2f} {m['cpu_seconds']:>8.2f} "
                         f"{m['cpu_seconds'] / r['n'] * 1e6:>10.1f} {m['peak_mb']:>9.0f} {m['growth_mb']:>9.0f} {ratio}")
        extra = (f"; CLI report {r['report_mb']:.1f} MB with {r['report_findings']} findings "
                 f"(estate file {r['estate_file_mb']:.0f} MB)" if "cli" in r else "")
        lines.append(f"{'':>10} graph {r['nodes']} nodes, {r['edges']} edges; {r['findings']} findings; "
                     f"generate {r['generate_seconds']:.1f} s (untimed); child max RSS {r['maxrss_mb']:.0f} MB"
                     + extra)
    return "\n".join(lines)


def verdict(r: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The issue's targets for one size: CPU ratios to the bare BFS, memory, linear growth."""
    base = r["bare_bfs"]["cpu_seconds"]
    aud = r["audit"]["cpu_seconds"]
    text = (f"{r['n']}: audit {aud:.1f} CPU s ({aud / base:.1f}x bare BFS, target <=10x), "
            f"child peak {r['maxrss_mb'] / 1024:.2f} GB (target <5 GB)")
    if "cli" in r:
        cli = r["cli"]
        text += (f"; CLI {cli['cpu_seconds']:.1f} CPU s ({cli['cpu_seconds'] / base:.1f}x, target <=15x), "
                 f"peak {cli['peak_mb'] / 1024:.2f} GB (target <8 GB)")
    smaller = [x for x in rows if x["n"] * 10 == r["n"]]
    if smaller:
        growth = (aud / r["n"]) / (smaller[0]["audit"]["cpu_seconds"] / smaller[0]["n"])
        text += f"; audit per resource {growth:.2f}x of {smaller[0]['n']} (target <=1.2x)"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="comma-separated resource counts (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=3600.0,
                        help="seconds for the whole run; sizes that would not fit are skipped")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--src", help="measure the package in this folder (e.g. an older commit's src)")
    parser.add_argument("--no-cli", action="store_true", help="leave out the estate file and CLI stages")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_child(args.child, args.seed, cli=not args.no_cli)))
        return 0
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(args.src).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    last: tuple[int, float] | None = None
    for n in sizes:
        left = args.budget - (time.perf_counter() - start)
        # Cost grows a little faster than linearly (memory, GC); 1.3 is a margin.
        estimate = last[1] * n / last[0] * 1.3 if last else 0.0
        if last and estimate > left:
            print(f"skipped {n}: estimated {estimate:.0f} s, {left:.0f} s of the budget left",
                  flush=True)
            continue
        t0 = time.perf_counter()
        print(f"measuring {n} resources …", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--child", str(n), "--seed", str(args.seed)]
        proc = subprocess.run(cmd + (["--no-cli"] if args.no_cli else []), capture_output=True, text=True,
                              timeout=max(left, 60), check=False, env=env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            print(f"size {n} failed (exit {proc.returncode})")
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        last = (n, time.perf_counter() - t0)
    for r in rows[:1]:
        print(f"package measured: {r['package']}")
    print(table(rows))
    for r in rows:
        print(verdict(r, rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

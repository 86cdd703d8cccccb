"""Benchmark of the Azure adapter: Resource Graph path against the per-subscription ARM path.

A fake tenant of 40 subscriptions and 5,000 storage accounts (mixed SKUs) is served over HTTPS on
127.0.0.1 by the test suite's fake of Resource Manager, in a child process, so the scanning
process's time and memory are its own. Both paths scan the same tenant in the same run,
alternating; the ARM path is the baseline. Requests are counted on the client (an azure-core
per-retry policy) and checked against the server's count.

Loopback has no network: ``--latency-ms`` (default ``0,20``, each value in the same run) makes the
fake wait that long before it answers each request, standing in for the round trip and API time
of a real call (Resource Manager answers take tens to hundreds of milliseconds). With no delay the
comparison is of the two processes' CPU alone.

Reported per path and latency: requests (for the Resource Graph path split into query pages,
permission checks and the rest), wall time and CPU time of the scanning process
(``time.process_time``; on a shared machine the steadier figure), medians of ``--repeat`` runs with
their range, and the peak of Python allocations during one scan (``tracemalloc``, a separate run).
Both paths must find every account, without a gap.

Run: ``python bench/bench_azure.py`` (``--subscriptions N --accounts M --repeat R --latency-ms 0,20``).
Targets: the Resource Graph path needs at most one Resource Graph request per 1,000 resources and
is at least 10x faster than the ARM path.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm, FakeCredential

SKUS = ["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS",
        "Premium_LRS", "Premium_ZRS"]
REGIONS = [("swedencentral", "swedensouth"), ("westeurope", "northeurope"), ("northeurope", "westeurope"),
           ("germanywestcentral", "germanynorth")]
BASELINE = "ARM per subscription (baseline)"
GRAPH = "Resource Graph"
PATHS = ((BASELINE, False), (GRAPH, True))
TARGET = 10.0


def build(subscriptions: int, accounts: int) -> FakeArm:
    """The benchmark tenant: ``accounts`` storage accounts spread evenly over ``subscriptions``."""
    fake = FakeArm(page_size=100)
    subs = [fake.add_subscription(f"{i:08d}-0000-4000-8000-000000000000", f"sub {i}") for i in range(subscriptions)]
    for n in range(accounts):
        sku = SKUS[n % len(SKUS)]
        primary, secondary = REGIONS[n % len(REGIONS)]
        geo = "GRS" in sku or "GZRS" in sku
        fake.add_resource(t.storage_account(subs[n % subscriptions], f"rg{n % 7}", f"acct{n:05d}", location=primary,
                                            sku=sku, secondary=secondary if geo else None,
                                            tags={"data-class": "patient" if n % 3 == 0 else "internal"}))
    # The fake builds a query's whole result again for every page asked for (fine for tests, some
    # milliseconds a page here, on the machine's other core); Resource Graph does not, so the bench
    # builds it once per query: otherwise the fake's own time is part of what the Resource Graph
    # path measures. Answers are still serialised and sent per page.
    built: dict[str, list[dict[str, Any]]] = {}
    rows_of = fake.graph_rows

    def rows_once(request: dict[str, Any]) -> list[dict[str, Any]]:
        key = json.dumps({k: v for k, v in request.items() if k != "options"}, sort_keys=True)
        if key not in built:
            built[key] = rows_of(request)
        return built[key]

    fake.graph_rows = rows_once  # type: ignore[method-assign]
    return fake


def _serve(subscriptions: int, accounts: int, ca_dir: str, conn: Any) -> None:
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(Path(ca_dir) / "ca.pem"))
    fake = build(subscriptions, accounts)
    with fake.serve(ca) as url:
        conn.send(url)
        while True:
            msg = conn.recv()
            if msg == "count":
                conn.send(len(fake.requests))
            elif isinstance(msg, tuple) and msg[0] == "latency":
                fake.latency = float(msg[1])
                conn.send(fake.latency)
            elif msg == "stop":
                break


class _Counter:
    """An azure-core per-retry policy that counts requests sent, by kind (thread-safe)."""

    def __init__(self) -> None:
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        counter = self
        self.n = 0
        self.posts = 0
        self.checks = 0
        self._lock = threading.Lock()

        class Policy(SansIOHTTPPolicy):  # type: ignore[type-arg]
            def on_request(self, request: Any) -> None:
                http = request.http_request
                with counter._lock:
                    counter.n += 1
                    counter.posts += http.method == "POST"
                    counter.checks += "/providers/Microsoft.Authorization/permissions" in http.url

        self.policy = Policy()


def run(url: str, ca_pem: str, *, graph: bool, trace: bool) -> dict[str, Any]:
    from residency_audit.providers.azure import scan_azure

    counter = _Counter()
    if trace:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    estate = scan_azure(credential=FakeCredential(), base_url=url, use_resource_graph=graph,
                        client_kwargs={"connection_verify": ca_pem, "retry_total": 0,
                                       "per_retry_policies": [counter.policy]})
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return {"resources": len(estate.resources), "gaps": len(estate.gaps), "requests": counter.n,
            "graph": counter.posts, "checks": counter.checks, "wall": wall, "cpu": cpu, "peak": peak}


def _ask(conn: Any, msg: Any) -> Any:
    conn.send(msg)
    return conn.recv()


def run_at(conn: Any, url: str, ca_pem: str, args: argparse.Namespace, latency_ms: float,
           memory: bool) -> dict[str, dict[str, Any]]:
    """Both paths at one latency, alternating: medians and ranges of ``args.repeat`` timed runs."""
    _ask(conn, ("latency", latency_ms / 1000))
    for _, graph in PATHS:  # warm-up: imports, code paths, the fake's first answers
        run(url, ca_pem, graph=graph, trace=False)
    timed: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in PATHS}
    for _ in range(args.repeat):
        for name, graph in PATHS:
            before = _ask(conn, "count")
            r = run(url, ca_pem, graph=graph, trace=False)
            after = _ask(conn, "count")
            assert after - before == r["requests"], "client and server counts differ"
            assert (r["resources"], r["gaps"]) == (args.accounts, 0), f"{name}: {r['resources']} resources, {r['gaps']} gaps"
            timed[name].append(r)
    rows: dict[str, dict[str, Any]] = {}
    for name, graph in PATHS:
        runs = timed[name]
        walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
        rows[name] = {**runs[-1], "wall": statistics.median(walls), "wall_range": (min(walls), max(walls)),
                      "cpu": statistics.median(cpus), "cpu_range": (min(cpus), max(cpus)),
                      "peak": run(url, ca_pem, graph=graph, trace=True)["peak"] if memory else 0}
    return rows


def report(rows: dict[str, dict[str, Any]], args: argparse.Namespace, latency_ms: float) -> bool:
    base, graph = rows[BASELINE], rows[GRAPH]
    print(f"Azure adapter: {args.subscriptions} subscriptions, {args.accounts} storage accounts, "
          f"{latency_ms:g} ms per request (median of {args.repeat} timed runs each, range in brackets)")
    print(f"{'path':34} {'requests':>8} {'req/1000':>8} {'wall s':>18} {'CPU s':>18} {'peak MiB':>9}")
    for name, r in rows.items():
        lo, hi = r["wall_range"]
        clo, chi = r["cpu_range"]
        peak = f"{r['peak'] / 2**20:>9.1f}" if r["peak"] else f"{'-':>9}"
        print(f"{name:34} {r['requests']:>8} {1000 * r['requests'] / args.accounts:>8.2f} "
              f"{r['wall']:>6.2f} [{lo:.2f}-{hi:.2f}] {r['cpu']:>6.2f} [{clo:.2f}-{chi:.2f}] {peak}")
    pages, checks = graph["graph"], graph["checks"]
    print(f"Resource Graph path: {pages} query pages + {checks} permission checks + "
          f"{graph['requests'] - pages - checks} other (subscription list, Locations API); "
          f"ARM path: {base['checks']} permission checks + {base['requests'] - base['checks']} lists")
    ratio = base["wall"] / graph["wall"]
    worst = base["wall_range"][0] / graph["wall_range"][1]
    print(f"ratio ARM / Resource Graph: wall {ratio:.1f}x (worst pairing {worst:.1f}x), "
          f"CPU {base['cpu'] / graph['cpu']:.1f}x, requests {base['requests'] / graph['requests']:.1f}x")
    ok = bool(pages * 1000 <= max(args.accounts, 1000) and ratio >= TARGET)
    print(f"targets (<= 1 Resource Graph request per 1,000 resources, >= {TARGET:g}x faster):",
          "met" if ok else "NOT met")
    print()
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscriptions", type=int, default=40)
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per path and latency (median reported)")
    ap.add_argument("--latency-ms", default="0,20",
                    help="delay of every answer, standing in for the network and API time that loopback "
                         "does not have; several values comma-separated, all in one run (default 0,20)")
    ap.add_argument("--no-memory", dest="memory", action="store_false",
                    help="skip the tracemalloc peak-memory runs")
    args = ap.parse_args(argv)
    try:
        latencies = [float(v) for v in str(args.latency_ms).split(",") if v.strip()]
    except ValueError:
        ap.error(f"--latency-ms: {args.latency_ms!r}: expected numbers separated by commas")
    if not latencies or min(latencies) < 0:
        ap.error("--latency-ms: expected one or more numbers >= 0")
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as ca_dir:
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(args.subscriptions, args.accounts, ca_dir, child), daemon=True)
        server.start()
        try:
            url = parent.recv()
            ca_pem = str(Path(ca_dir) / "ca.pem")
            results = [(ms, run_at(parent, url, ca_pem, args, ms, args.memory and i == 0))
                       for i, ms in enumerate(latencies)]
        finally:
            parent.send("stop")
            server.join(timeout=10)
    for ms, rows in results:
        report(rows, args, ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

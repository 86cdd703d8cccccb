"""Benchmark of the Azure adapter: Resource Graph path against the per-subscription ARM path.

A fake tenant of 40 subscriptions and 5,000 storage accounts (mixed SKUs) is served over HTTPS on
127.0.0.1 by the test suite's fake of Resource Manager, in a child process, so the scanning
process's time and memory are its own. Both paths scan the same tenant in the same run; the ARM
path is the baseline. Requests are counted on the client (an azure-core per-retry policy) and
checked against the server's count.

Run: ``python bench/bench_azure.py`` (``--subscriptions N --accounts M --repeat R`` to change sizes).
Targets: the Resource Graph path needs at most one Resource Graph request per 1,000 resources and
is at least 5x faster than the ARM path.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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
            elif msg == "stop":
                break


class _Counter:
    """An azure-core per-retry policy that counts requests sent (thread-safe)."""

    def __init__(self) -> None:
        from azure.core.pipeline.policies import SansIOHTTPPolicy

        counter = self
        self.n = 0
        self.posts = 0
        self._lock = threading.Lock()

        class Policy(SansIOHTTPPolicy):  # type: ignore[misc]
            def on_request(self, request: Any) -> None:
                with counter._lock:
                    counter.n += 1
                    counter.posts += request.http_request.method == "POST"

        self.policy = Policy()


def run(url: str, ca_pem: str, *, graph: bool, trace: bool) -> dict[str, Any]:
    from residency_audit.providers.azure import scan_azure

    counter = _Counter()
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    estate = scan_azure(credential=FakeCredential(), base_url=url, use_resource_graph=graph,
                        client_kwargs={"connection_verify": ca_pem, "retry_total": 0,
                                       "per_retry_policies": [counter.policy]})
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return {"resources": len(estate.resources), "gaps": len(estate.gaps), "requests": counter.n, "graph": counter.posts, "wall": wall,
            "peak": peak}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscriptions", type=int, default=40)
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per path (best is reported)")
    args = ap.parse_args()
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as ca_dir:
        parent, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(args.subscriptions, args.accounts, ca_dir, child), daemon=True)
        server.start()
        try:
            url = parent.recv()
            ca_pem = str(Path(ca_dir) / "ca.pem")
            rows: dict[str, dict[str, Any]] = {}
            for name, graph in (("ARM per subscription (baseline)", False), ("Resource Graph", True)):
                before = (parent.send("count"), parent.recv())[1]
                timed = [run(url, ca_pem, graph=graph, trace=False) for _ in range(args.repeat)]
                after = (parent.send("count"), parent.recv())[1]
                traced = run(url, ca_pem, graph=graph, trace=True)
                best = min(timed, key=lambda r: r["wall"])
                assert (after - before) == sum(r["requests"] for r in timed), "client and server counts differ"
                rows[name] = {**best, "peak": traced["peak"]}
        finally:
            parent.send("stop")
            server.join(timeout=10)
    base = rows["ARM per subscription (baseline)"]
    print(f"Azure adapter: {args.subscriptions} subscriptions, {args.accounts} storage accounts "
          f"(best of {args.repeat} timed runs; peak memory from one traced run)")
    print(f"{'path':34} {'resources':>9} {'requests':>8} {'req/1000':>8} {'wall s':>8} {'speedup':>8} "
          f"{'peak MiB':>9} {'mem ratio':>9}")
    for name, r in rows.items():
        print(f"{name:34} {r['resources']:>9} {r['requests']:>8} {1000 * r['requests'] / args.accounts:>8.2f} "
              f"{r['wall']:>8.2f} {base['wall'] / r['wall']:>7.1f}x {r['peak'] / 2**20:>9.1f} "
              f"{r['peak'] / base['peak']:>9.2f}")
    graph = rows["Resource Graph"]
    queries = graph["graph"]
    print(f"Resource Graph path: {queries} Resource Graph query pages + {graph['requests'] - queries} other "
          f"requests (subscription list, Locations API)")
    ok = queries * 1000 <= max(args.accounts, 1000) and base["wall"] / graph["wall"] >= 5
    print("targets (<= 1 Resource Graph request per 1,000 resources, >= 5x faster):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""GCP benchmark: Cloud Asset search against per-project listing over one fake organisation.

Run ``python bench/bench_gcp.py`` (or ``nox -s bench -- gcp``). A fake organisation of
``--projects`` projects (in ``--folders`` folders, default ten) holding ``--resources`` Cloud Storage buckets of mixed
location types is served by the loopback REST fake of the test suite, in a child process, so
that the scanner's memory is measured alone. The same adapter then scans it two ways, in the
same run, alternating: the asset-search path (default) and per-project listing
(``use_asset_search=False``, Cloud Storage ``buckets.list`` per project), both over the REST
transport with anonymous credentials.

Loopback has no network: ``--latency-ms`` adds a server-side delay to every request, standing
in for the round trip and API time of a real call (an assumption of the run, printed with it).
With no delay the comparison is of client CPU alone, where the asset-search path pays for
the REST transport's JSON-to-protobuf parsing of every search result.

Reported per path: requests the server received, wall time (median of ``--repeat`` runs,
``time.perf_counter``), and the peak of Python allocations during one scan (``tracemalloc``, a
separate run so that tracing does not slow the timed ones). Ratios are per-project / asset
search: above 1 means the asset-search path is better. Both paths must find every bucket.
Buckets are the only resource kind both paths can see: per-project listing of the other
services would need one more list call per project and service, which only widens the gap.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

_KINDS = (("EUROPE-NORTH1", "region", None), ("EUR4", "dual-region", None),
          ("EU", "dual-region", ["EUROPE-NORTH1", "EUROPE-WEST4"]), ("EU", "multi-region", None),
          ("US", "multi-region", None), ("NAM4", "dual-region", None))


def build_fake(projects: int, resources: int, folder_count: int = 10) -> Any:
    """The fake organisation: ``folder_count`` folders, ``projects`` projects, ``resources`` buckets."""
    from tests.providers.gcp.fakes import FakeGcp

    fake = FakeGcp(on_request=lambda method, path: None)
    folders = [fake.add_folder(str(10 + i), f"Unit {i}") for i in range(folder_count)]
    for p in range(projects):
        pid = f"proj-{p:04d}"
        fake.add_project(pid, str(100000 + p), parent=folders[p % len(folders)],
                         labels={"unit": str(p % 10)})
    for b in range(resources):
        pid = f"proj-{b % projects:04d}"
        location, kind, data = _KINDS[b % len(_KINDS)]
        fake.add_bucket(pid, f"bucket-{b:06d}", location, kind, data_locations=data)
    return fake


def _serve(projects: int, resources: int, folder_count: int, latency: float, port_queue: Any,
           counter: Any, stop: Any) -> None:
    fake = build_fake(projects, resources, folder_count)
    fake.latency = latency

    def count(method: str, path: str) -> None:
        with counter.get_lock():
            counter.value += 1

    fake.on_request = count
    with fake.serve() as url:
        port_queue.put(url)
        stop.wait()


def scan_once(url: str, *, asset: bool) -> tuple[int, float]:
    """One scan; returns (buckets found, seconds)."""
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp import scan_gcp

    start = time.perf_counter()
    estate = scan_gcp(organization="100", credentials=AnonymousCredentials(), transport="rest",
                      endpoints={"*": url}, use_asset_search=asset)
    elapsed = time.perf_counter() - start
    return sum(r.service == "storage" for r in estate.resources), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="server-side delay per request, standing in for the network and "
                             "API latency that loopback does not have (default 0)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    ctx = mp.get_context("fork")
    port_queue, counter, stop = ctx.Queue(), ctx.Value("l", 0), ctx.Event()
    server = ctx.Process(target=_serve, args=(args.projects, args.resources, args.folders,
                                              args.latency_ms / 1000, port_queue, counter, stop), daemon=True)
    server.start()
    try:
        url = port_queue.get(timeout=120)
        paths = {"asset search": True, "per-project listing": False}
        times: dict[str, list[float]] = {name: [] for name in paths}
        requests: dict[str, int] = {}
        peaks: dict[str, int] = {}
        scan_once(url, asset=True)  # warm-up: imports, client construction
        for _ in range(args.repeat):
            for name, asset in paths.items():
                before = counter.value
                found, seconds = scan_once(url, asset=asset)
                if found != args.resources:
                    raise SystemExit(f"{name}: found {found} buckets, expected {args.resources}")
                requests[name] = counter.value - before
                times[name].append(seconds)
        for name, asset in paths.items():
            tracemalloc.start()
            scan_once(url, asset=asset)
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    finally:
        stop.set()
        server.join(timeout=10)

    a, b = "asset search", "per-project listing"
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"GCP scan: {args.projects} projects in {args.folders} folders, {args.resources} buckets, "
          f"{args.latency_ms:g} ms per request, median of {args.repeat} runs each")
    print(f"{'path':<22}{'requests':>10}{'wall s':>10}{'peak MiB':>10}")
    for name in (a, b):
        print(f"{name:<22}{requests[name]:>10}{med[name]:>10.2f}{peaks[name] / 2**20:>10.1f}")
    print(f"{'ratio (per-project / asset search)':<22}  requests {requests[b] / requests[a]:.1f}x"
          f", wall {med[b] / med[a]:.2f}x, peak memory {peaks[b] / peaks[a]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

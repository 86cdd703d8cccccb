"""GCP benchmark: Cloud Asset search against per-project listing over one fake organisation.

Run ``python bench/bench_gcp.py`` (or ``nox -s bench -- gcp``). A fake organisation of
``--projects`` projects (in ``--folders`` folders, default ten) holding ``--resources`` Cloud Storage buckets of mixed
location types is served by the loopback REST fake of the test suite, in a child process, so
that the scanner's memory is measured alone. The same adapter then scans it two ways, in the
same run, alternating: the asset-search path with its pages read as JSON (the default over
REST, ``search_format="json"``), the same path through the generated client, which converts
every result from JSON to protobuf (``search_format="protobuf"``, the path before), and
per-project listing (``use_asset_search=False``, Cloud Storage ``buckets.list`` per project),
all over the REST transport with anonymous credentials.

Loopback has no network: ``--latency-ms`` (default ``0,20``: one fake server per value, in one
run) adds a server-side delay to every request, standing in for the round trip and API time
of a real call (an assumption of the run, printed with it). With no delay the comparison is
of client CPU alone.

Reported per path: requests the server received, CPU time of the scanning process
(``time.process_time``: the server is another process; on a shared, loaded machine this is
the steadier figure) and wall time; with a delay, the time the server was answering at least
one of them (``busy``: requests in flight together count once) and ``busy`` over the delay
(``in a row``: about how many requests were made one after another, on the critical path)
(medians of ``--repeat`` runs); and the peak of Python
allocations during one scan (``tracemalloc``, a separate run so that tracing does not slow the
timed ones). Ratios are per-project listing / the asset-search path, in the same run: above 1
means the asset-search path is better. Both paths must find every bucket.
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
    # The fake builds its whole search result list for every page asked for (fine for tests,
    # 50 ms a page here); Google does not, so the bench builds it once per search: otherwise
    # the fake's own time, not the scanner's, is what the asset-search path would measure.
    built: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    search = fake.search

    def search_once(scope: str, asset_types: list[str]) -> list[dict[str, Any]]:
        key = (scope, tuple(asset_types))
        if key not in built:
            built[key] = search(scope, asset_types)
        return built[key]

    fake.search = search_once  # type: ignore[method-assign]
    return fake


def _serve(projects: int, resources: int, folder_count: int, latency: float, port_queue: Any,
           counter: Any, stop: Any, spans: Any) -> None:
    fake = build_fake(projects, resources, folder_count)
    fake.latency = latency

    def count(method: str, path: str) -> None:
        with counter.get_lock():
            counter.value += 1

    handle = fake.handle

    def timed(method: str, raw_path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        start = time.monotonic()
        try:
            answer: tuple[int, dict[str, Any]] = handle(method, raw_path, body)
            return answer
        finally:  # before the answer is written: the client has it only after this
            spans.put((start, time.monotonic()))

    fake.on_request = count
    fake.handle = timed
    with fake.serve() as url:
        port_queue.put(url)
        stop.wait()


def busy_seconds(spans: list[tuple[float, float]]) -> float:
    """How long at least one request was being answered (the union of the spans). Pure.

    With a delay of ``d`` per request, ``busy / d`` is about the number of requests made one
    after another on the scan's critical path: requests in flight together count once.

    >>> busy_seconds([(0.0, 1.0), (0.5, 1.5), (3.0, 4.0)])
    2.5
    """
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def scan_once(url: str, *, path: str) -> tuple[int, float, float]:
    """One scan along ``path`` (a key of :data:`PATHS`); returns (buckets found, wall s, CPU s)."""
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp import scan_gcp

    options = PATHS[path]
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    start, cpu = time.perf_counter(), time.process_time()
    estate = scan_gcp(organization="100", credentials=credentials, transport="rest",
                      endpoints={"*": url}, **options)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return sum(r.service == "storage" for r in estate.resources), elapsed, cpu


PATHS: dict[str, dict[str, Any]] = {
    "asset search, JSON": {"search_format": "json"},
    "asset search, protobuf": {"search_format": "protobuf"},
    "per-project listing": {"use_asset_search": False},
}
LISTING = "per-project listing"


def run_at(args: argparse.Namespace, latency_ms: float) -> None:
    """Serve the fake organisation with ``latency_ms`` per request, scan it every way, print."""
    ctx = mp.get_context("fork")
    port_queue, counter, stop, spans = ctx.Queue(), ctx.Value("l", 0), ctx.Event(), ctx.Queue()
    server = ctx.Process(target=_serve, args=(args.projects, args.resources, args.folders,
                                              latency_ms / 1000, port_queue, counter, stop,
                                              spans),
                         daemon=True)
    server.start()
    walls: dict[str, list[float]] = {name: [] for name in PATHS}
    cpus: dict[str, list[float]] = {name: [] for name in PATHS}
    busy: dict[str, list[float]] = {name: [] for name in PATHS}
    requests: dict[str, int] = {}
    peaks: dict[str, int] = {}

    def answered(count: int) -> list[tuple[float, float]]:
        return [spans.get(timeout=30) for _ in range(count)]

    try:
        url = port_queue.get(timeout=120)
        for name in PATHS:  # warm-up: imports, client construction, code paths
            before = counter.value
            scan_once(url, path=name)
            answered(counter.value - before)
        for _ in range(args.repeat):
            for name in PATHS:
                before = counter.value
                found, seconds, cpu_seconds = scan_once(url, path=name)
                if found != args.resources:
                    raise SystemExit(f"{name}: found {found} buckets, expected {args.resources}")
                requests[name] = counter.value - before
                busy[name].append(busy_seconds(answered(requests[name])))
                walls[name].append(seconds)
                cpus[name].append(cpu_seconds)
        if args.memory:
            for name in PATHS:
                before = counter.value
                tracemalloc.start()
                scan_once(url, path=name)
                peaks[name] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                answered(counter.value - before)
    finally:
        stop.set()
        server.join(timeout=10)

    wall = {name: statistics.median(v) for name, v in walls.items()}
    cpu = {name: statistics.median(v) for name, v in cpus.items()}
    served = {name: statistics.median(v) for name, v in busy.items()}
    print(f"GCP scan: {args.projects} projects in {args.folders} folders, {args.resources} "
          f"buckets, {latency_ms:g} ms per request, median of {args.repeat} runs each")
    delayed = latency_ms > 0
    print(f"{'path':<24}{'requests':>10}{'CPU s':>9}{'wall s':>9}"
          + (f"{'busy s':>9}{'in a row':>10}" if delayed else "")
          + (f"{'peak MiB':>10}" if peaks else ""))
    for name in PATHS:
        print(f"{name:<24}{requests[name]:>10}{cpu[name]:>9.2f}{wall[name]:>9.2f}"
              + (f"{served[name]:>9.2f}{served[name] / (latency_ms / 1000):>10.0f}"
                 if delayed else "")
              + (f"{peaks[name] / 2**20:>10.1f}" if peaks else ""))
    for name in PATHS:
        if name == LISTING:
            continue
        print(f"ratio per-project / {name}: requests {requests[LISTING] / requests[name]:.1f}x, "
              f"CPU {cpu[LISTING] / cpu[name]:.2f}x, wall {wall[LISTING] / wall[name]:.2f}x"
              + (f", peak memory {peaks[LISTING] / peaks[name]:.2f}x" if peaks else ""))
    a, b = "asset search, protobuf", "asset search, JSON"
    print(f"ratio protobuf / JSON pages: CPU {cpu[a] / cpu[b]:.2f}x, wall {wall[a] / wall[b]:.2f}x")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--folders", type=int, default=10)
    parser.add_argument("--latency-ms", default="0,20",
                        help="server-side delay per request, standing in for the network and "
                             "API latency that loopback does not have; several values "
                             "comma-separated (default 0,20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the tracemalloc peak-memory runs")
    args = parser.parse_args(argv)
    try:
        latencies = [float(v) for v in str(args.latency_ms).split(",") if v.strip()]
    except ValueError:
        parser.error(f"--latency-ms: {args.latency_ms!r}: expected numbers separated by commas")
    for latency in latencies:
        run_at(args, latency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""OCI benchmark: OCI Search first, against listing every service in every compartment.

Run ``python bench/bench_oci.py`` (or ``nox -s bench -- oci``). A fake tenancy of
``--compartments`` compartments (default 50) holding ``--resources`` resources (default 2,000:
buckets, Autonomous Databases, DB systems, volumes, file system replications and vaults, round
robin) in one region is served by the loopback fake of the test suite. Each compartment holds
``--services-per-compartment`` of the six listed services (default 2: most compartments of a real
tenancy use a few services), so that Search has empty (compartment, service) pairs to skip.
The same adapter then scans it both ways in the same run, alternating: Search first (default)
and per-compartment listing (``use_search=False``).

Loopback has no network: ``--latency-ms`` adds a server-side delay to every request, standing in
for the round trip and the API's own time (an assumption of the run, printed with it).

Reported per path: requests the server received and wall time (median of ``--repeat`` runs,
``time.perf_counter``); ratios are listing / Search, so above 1 means Search is better. Both paths
must find the same resources.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

REGION = "uk-london-1"
_SERVICES = ("buckets", "adbs", "dbsystems", "volumes", "replications", "vaults")


def _add(fake: Any, kind: str, n: int, compartment: str) -> None:
    region = fake.regions[REGION]
    created = "2026-01-15T10:00:00.000Z"
    if kind == "buckets":
        region.add("buckets", {"namespace": fake.namespace, "name": f"b{n:05d}", "compartmentId": compartment,
                               "timeCreated": created, "etag": "e", "replicationEnabled": False,
                               "isReadOnly": False, "freeformTags": {"n": str(n)}})
    elif kind == "adbs":
        region.add("adbs", {"id": f"ocid1.autonomousdatabase.oc1.{REGION}.a{n}", "compartmentId": compartment,
                            "displayName": f"adb{n}", "dbName": f"DB{n}", "lifecycleState": "AVAILABLE",
                            "role": "PRIMARY", "timeCreated": created})
    elif kind == "dbsystems":
        region.add("dbsystems", {"id": f"ocid1.dbsystem.oc1.{REGION}.s{n}", "compartmentId": compartment,
                                 "displayName": f"sys{n}", "lifecycleState": "AVAILABLE",
                                 "timeCreated": created})
    elif kind == "volumes":
        region.add("volumes", {"id": f"ocid1.volume.oc1.{REGION}.v{n}", "compartmentId": compartment,
                               "displayName": f"vol{n}", "availabilityDomain": "Uocm:UK-LONDON-1-AD-1",
                               "lifecycleState": "AVAILABLE", "timeCreated": created})
    elif kind == "replications":
        region.add("filesystems", {"id": f"ocid1.filesystem.oc1.{REGION}.f{n}", "compartmentId": compartment,
                                   "displayName": f"fs{n}"})
        region.add("replications", {"id": f"ocid1.replication.oc1.{REGION}.r{n}", "compartmentId": compartment,
                                    "availabilityDomain": "Uocm:UK-LONDON-1-AD-1", "displayName": f"rep{n}",
                                    "lifecycleState": "ACTIVE", "timeCreated": created,
                                    "sourceId": f"ocid1.filesystem.oc1.{REGION}.f{n}",
                                    "targetId": f"ocid1.filesystem.oc1.eu-frankfurt-1.t{n}"})
    else:
        region.add("vaults", {"id": f"ocid1.vault.oc1.{REGION}.k{n}", "compartmentId": compartment,
                              "displayName": f"vault{n}", "lifecycleState": "ACTIVE",
                              "timeCreated": created, "vaultType": "DEFAULT"})


def build_fake(compartments: int, resources: int, per_compartment: int) -> Any:
    """The fake tenancy: one region, ``compartments`` compartments, ``resources`` resources."""
    from tests.providers.oci.fake_oci import FakeOci

    fake = FakeOci(home=REGION)
    fake.region(REGION, "LHR")
    ids = [fake.compartment(f"ocid1.compartment.oc1..c{i:03d}", f"unit-{i:03d}")
           for i in range(compartments)]
    slots = [(c, _SERVICES[(i + k) % len(_SERVICES)]) for i, c in enumerate(ids)
             for k in range(per_compartment)]
    for n in range(resources):
        compartment, kind = slots[n % len(slots)]
        _add(fake, kind, n, compartment)
    return fake


def scan_once(fake: Any, urls: dict[str, str], *, search: bool) -> tuple[int, int, float]:
    """One scan; returns (resources found, requests, seconds)."""
    from tests.providers.oci.conftest import fast_retry, sdk_config

    from residency_audit.providers.oci import scan_oci

    before = fake.total_requests()
    started = time.perf_counter()
    estate = scan_oci(config=sdk_config(region=REGION), endpoints=urls, use_search=search,
                      retry_strategy=fast_retry())
    seconds = time.perf_counter() - started
    bad = [g for g in estate.gaps if g.error not in ("UnknownRegion",)]
    if bad:
        raise SystemExit(f"unexpected gaps: {bad[:3]}")
    return len(estate.resources), fake.total_requests() - before, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compartments", type=int, default=50)
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--services-per-compartment", type=int, default=2, choices=range(1, 7))
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    fake = build_fake(args.compartments, args.resources, args.services_per_compartment)
    fake.latency = args.latency_ms / 1000
    results: dict[str, list[tuple[int, int, float]]] = {"search": [], "listing": []}
    with fake.serve() as urls:
        scan_once(fake, urls, search=True)  # warm-up: imports and first clients
        for _ in range(args.repeat):
            results["search"].append(scan_once(fake, urls, search=True))
            results["listing"].append(scan_once(fake, urls, search=False))
    found = {k: {r[0] for r in v} for k, v in results.items()}
    if len(found["search"] | found["listing"]) != 1:
        raise SystemExit(f"the paths found different resources: {found}")
    print(f"OCI: {args.compartments} compartments, {args.resources} resources, "
          f"{args.services_per_compartment} of 6 services per compartment, one region, "
          f"latency {args.latency_ms:g} ms per request, median of {args.repeat}")
    rows = {}
    for name, runs in results.items():
        requests = runs[0][1]
        seconds = statistics.median(r[2] for r in runs)
        rows[name] = (requests, seconds)
        print(f"  {name:8s} resources {runs[0][0]:5d}  requests {requests:6d}  time {seconds:7.3f} s")
    print(f"  ratio listing/search: requests {rows['listing'][0] / rows['search'][0]:.2f}x, "
          f"time {rows['listing'][1] / rows['search'][1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

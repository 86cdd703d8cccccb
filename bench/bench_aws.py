"""AWS benchmark: our S3 scan against a plain threaded boto3 script and Cloud Custodian.

Run ``python bench/bench_aws.py`` (or ``nox -s bench -- aws``); ``--sizes 200,1000,3000`` sets
the estate sizes. A moto server runs as a separate process on 127.0.0.1 (so that client threads
really overlap) and is seeded, per size, with N buckets over ten regions (some eu-west-1 buckets
created the legacy way, answering ``EU``), about 20% of them replicated (every fifth of those to
two destinations). The generator keeps the answer key: each bucket's region and replication
destinations.

Each contender runs in its own child process, so its peak memory (``VmHWM``) is its own, and
counts every HTTP attempt its botocore clients send (``before-send``, retries included):

(a) ``ours``: :func:`residency_audit.providers.aws.scanner.scan_aws` with ``services=["s3"]``
    and the ten regions, 16 workers (region discovery, caller identity and the tag listing
    included in its time and calls);
(b) ``plain``: the obvious script: ``ListBuckets``, then ``GetBucketLocation`` and
    ``GetBucketReplication`` per bucket on 16 threads (2N+1 calls);
(c) ``c7n``: Cloud Custodian's ``aws.s3`` resource with ``augment-keys: [Location, Replication]``
    (it always adds Tags: 3N+1 calls). c7n pins an older boto3 than this project's, so it does not
    install beside it: give an interpreter that has c7n with ``--c7n-python`` (for example a
    separate virtualenv); without one, (c) is skipped and the table says so.

``--baseline DIR`` adds (a) again from another checkout's ``DIR/src`` (``base``, ``base-no-tags``),
in the same run, for before/after figures (for example ``git worktree add /tmp/base HEAD~3``).

Wall time is the scan alone (after imports), median of ``--repeat`` runs; ratios are
``plain / contender`` (above 1: faster than the plain script). Correct means every bucket's
region and destination set equal the answer key. The moto server cannot serve S3 Control's
account-prefixed host names (``<account>.127.0.0.1``), so ``ListMultiRegionAccessPoints`` is
answered in-process with an empty list in (a).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "eu-west-1", "eu-north-1", "eu-central-1", "us-west-2", "ap-southeast-2",
           "sa-east-1", "ca-central-1", "ap-northeast-1", "eu-west-3")
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
         "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1,localhost"}
SRC = ROOT / "src"
"""Where ``ours`` is imported from (``--baseline`` points the ``base`` contenders elsewhere)."""


# ---------------------------------------------------------------- estate generator

def plan_estate(n: int) -> dict[str, dict[str, Any]]:
    """The answer key: bucket -> region, legacy flag and sorted replication destinations."""
    names = [f"bench-{n}-{i:05d}" for i in range(n)]
    key: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        region = REGIONS[i % len(REGIONS)]
        legacy = region == "eu-west-1" and (i // len(REGIONS)) % 3 == 0
        dests: list[str] = []
        if i % 5 == 1 and n > 5:
            dests.append(names[(i + 3) % n])
            if i % 25 == 1:
                dests.append(names[(i + 7) % n])
        key[name] = {"region": region, "legacy": legacy, "dests": sorted(dests),
                     "tags": {"data-class": ("patient", "lab", "public")[i % 3], "owner": f"team-{i % 7}"}}
    return key


def seed(endpoint: str, key: dict[str, dict[str, Any]]) -> None:
    """Create the estate in the moto server (16 threads)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(region_name="us-east-1")
    cfg = Config(max_pool_connections=32, retries={"max_attempts": 10})
    clients = {r: session.client("s3", region_name=r, config=cfg) for r in REGIONS}

    def create(name: str) -> None:
        spec = key[name]
        if spec["legacy"]:
            clients["us-east-1"].create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "EU"})
        elif spec["region"] == "us-east-1":
            clients["us-east-1"].create_bucket(Bucket=name)
        else:
            clients[spec["region"]].create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": spec["region"]})
        clients["us-east-1"].put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        clients["us-east-1"].put_bucket_tagging(Bucket=name, Tagging={"TagSet": [
            {"Key": k, "Value": v} for k, v in sorted(spec["tags"].items())]})

    def replicate(name: str) -> None:
        rules = [{"ID": f"r{i}", "Priority": i + 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                  "DeleteMarkerReplication": {"Status": "Disabled"},
                  "Destination": {"Bucket": f"arn:aws:s3:::{d}"}} for i, d in enumerate(key[name]["dests"])]
        clients["us-east-1"].put_bucket_replication(
            Bucket=name, ReplicationConfiguration={"Role": "arn:aws:iam::123456789012:role/r", "Rules": rules})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, sorted(key)))
        list(pool.map(replicate, sorted(n for n in key if key[n]["dests"])))
    session.client("ec2", region_name="us-east-1").describe_regions(AllRegions=True)  # warm moto's EC2


# ---------------------------------------------------------------- contenders (child processes)

def _count_sends() -> dict[str, int]:
    """Count every request any botocore session sends from now on."""
    import botocore.session

    counter = {"calls": 0}
    original = botocore.session.Session.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

        def count(**_: Any) -> None:
            counter["calls"] += 1

        self.get_component("event_emitter").register("before-send", count)

    botocore.session.Session.__init__ = __init__  # type: ignore[method-assign]
    return counter


def _normalize(constraint: str | None) -> str:
    return {"": "us-east-1", "EU": "eu-west-1"}.get(constraint or "", constraint or "")


def run_ours(workers: int, *, tags: bool = True) -> dict[str, dict[str, Any]]:
    sys.path.insert(0, str(SRC))
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.parsers import create_parser

    from residency_audit.providers.aws.scanner import scan_aws

    session = boto3.Session(region_name="us-east-1")

    def no_mraps(model: Any, **_: Any) -> Any:
        body = b"<ListMultiRegionAccessPointsResult><AccessPoints/></ListMultiRegionAccessPointsResult>"
        parsed = create_parser("rest-xml").parse({"body": body, "headers": {}, "status_code": 200}, model.output_shape)
        return AWSResponse("http://127.0.0.1/", 200, {}, None), parsed

    session.events.register("before-call.s3-control.ListMultiRegionAccessPoints", no_mraps)
    estate = scan_aws(session=session, regions=list(REGIONS), services=["s3"], max_workers=workers, tags=tags)
    found: dict[str, dict[str, Any]] = {}
    for r in estate.resources:
        if r.kind == "bucket":
            found[r.name] = {"region": ",".join(sorted(p.code for p in r.placements)),
                             "dests": sorted(x.target.split(":::", 1)[1] for x in r.links), "tags": dict(r.tags)}
    found["__gaps__"] = {"region": str(len(estate.gaps)), "dests": []}
    return found


def run_plain(workers: int) -> dict[str, dict[str, Any]]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.Session(region_name="us-east-1").client("s3", config=Config(max_pool_connections=workers))
    names = [b["Name"] for b in client.list_buckets()["Buckets"]]

    def one(name: str) -> tuple[str, dict[str, Any]]:
        region = _normalize(client.get_bucket_location(Bucket=name)["LocationConstraint"])
        try:
            rules = client.get_bucket_replication(Bucket=name)["ReplicationConfiguration"]["Rules"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ReplicationConfigurationNotFoundError":
                raise
            rules = []
        dests = sorted(r["Destination"]["Bucket"].split(":::", 1)[1] for r in rules if r.get("Status") == "Enabled")
        return name, {"region": region, "dests": dests}

    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, names))


def run_c7n(workers: int) -> dict[str, dict[str, Any]]:
    from c7n import resources
    from c7n.config import Config
    from c7n.policy import PolicyCollection

    resources.load_resources(("aws.s3",))
    out = tempfile.mkdtemp(prefix="bench-c7n-")
    conf = Config.empty(output_dir=out, region="us-east-1", regions=["us-east-1"], cache="", max_threads=workers)
    data = {"policies": [{"name": "buckets", "resource": "aws.s3",
                          "query": [{"augment-keys": ["Location", "Replication"]}]}]}
    found: dict[str, dict[str, Any]] = {}
    for policy in PolicyCollection.from_data(data, conf):
        for b in policy.run():
            rules = ((b.get("Replication") or {}).get("ReplicationConfiguration") or {}).get("Rules", [])
            found[b["Name"]] = {
                "region": _normalize((b.get("Location") or {}).get("LocationConstraint")),
                "dests": sorted(r["Destination"]["Bucket"].split(":::", 1)[1] for r in rules
                                if r.get("Status") == "Enabled")}
    return found


def _peak_rss_kib() -> int:
    """This process's peak resident set (``VmHWM``). Linux keeps ``ru_maxrss`` across
    ``execve``, so a child would report its parent's peak; ``VmHWM`` belongs to the new image."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child(name: str, workers: int) -> None:
    """Run one contender; print one JSON line: seconds, peak KiB, calls, findings."""
    import resource

    import boto3  # noqa: F401  (imports are not part of the timed scan)

    if name.startswith("ours"):
        sys.path.insert(0, str(SRC))
        import residency_audit.providers.aws.scanner  # noqa: F401
    elif name == "c7n":
        import c7n.resources.s3  # noqa: F401
    counter = _count_sends()
    fn = {"ours": run_ours, "ours-no-tags": lambda w: run_ours(w, tags=False), "plain": run_plain,
          "c7n": run_c7n}[name]
    started, cpu = time.perf_counter(), time.process_time()
    found = fn(workers)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = _peak_rss_kib() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_kib": peak, "calls": counter["calls"], "found": found}))


# ---------------------------------------------------------------- parent

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=10)


def score(found: dict[str, dict[str, Any]], key: dict[str, dict[str, Any]]) -> int:
    """How many buckets of the key have exactly the right region and destinations."""
    return sum(1 for name, spec in key.items()
               if name in found and found[name]["region"] == spec["region"]
               and sorted(found[name]["dests"]) == spec["dests"])


def _run_child(python: str, name: str, workers: int, env: dict[str, str], baseline: str = "") -> dict[str, Any]:
    src = ["--src", str(Path(baseline) / "src")] if name.startswith("base") else []
    child_name = name.replace("base", "ours", 1) if name.startswith("base") else name
    done = subprocess.run([python, str(Path(__file__).resolve()), "--child", child_name, "--workers", str(workers),
                           *src], env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,1000,3000")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--c7n-python", default=os.environ.get("C7N_PYTHON", ""),
                        help="an interpreter with c7n installed (c7n pins an older boto3)")
    parser.add_argument("--baseline", metavar="DIR", default="",
                        help="also run the scan of another checkout (DIR/src), as 'base', in the same run")
    parser.add_argument("--child", choices=("ours", "ours-no-tags", "plain", "c7n"), help=argparse.SUPPRESS)
    parser.add_argument("--src", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        global SRC
        SRC = Path(args.src) if args.src else SRC
        child(args.child, args.workers)
        return 0
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, **CREDS, "AWS_ENDPOINT_URL": url}
    os.environ.update({**CREDS, "AWS_ENDPOINT_URL": url})
    contenders = [("plain", sys.executable), ("ours", sys.executable), ("ours-no-tags", sys.executable)]
    if args.baseline:
        contenders += [("base", sys.executable), ("base-no-tags", sys.executable)]
    if args.c7n_python:
        contenders.append(("c7n", args.c7n_python))
    rows: list[tuple[Any, ...]] = []
    try:
        _wait(url)
        for n in [int(s) for s in args.sizes.split(",")]:
            _reset(url)
            key = plan_estate(n)
            t0 = time.perf_counter()
            seed(url, key)
            print(f"seeded {n} buckets in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in contenders}
            for _ in range(args.repeat):
                for name, python in contenders:
                    results[name].append(_run_child(python, name, args.workers, env, args.baseline))
            base = statistics.median(r["seconds"] for r in results["plain"])
            for name, _ in contenders:
                runs = results[name]
                secs = statistics.median(r["seconds"] for r in runs)
                cpu = statistics.median(r["cpu"] / max(1, r["calls"]) * 1000 for r in runs)
                tagged = sum(1 for b, spec in key.items() if runs[0]["found"].get(b, {}).get("tags") == spec["tags"])
                rows.append((n, name, secs, base / secs, max(r["peak_kib"] for r in runs) / 1024,
                             runs[0]["calls"] / n, cpu, score(runs[0]["found"], key), n,
                             tagged if name in ("ours", "base") else None))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{'buckets':>7}  {'contender':<12} {'wall s':>7} {'plain/x':>7} {'peak MB':>8} "
          f"{'calls/bucket':>12} {'CPU ms/call':>11} {'correct':>11} {'tags right':>10}")
    for n, name, secs, ratio, mb, cpb, cpu, ok, total, tagged in rows:
        print(f"{n:>7}  {name:<12} {secs:>7.2f} {ratio:>7.2f} {mb:>8.1f} {cpb:>12.2f} {cpu:>11.2f} "
              f"{ok:>5}/{total:<5} {'-' if tagged is None else tagged:>10}")
    if not args.c7n_python:
        print("c7n: skipped (it pins an older boto3 than this project; pass --c7n-python or C7N_PYTHON)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

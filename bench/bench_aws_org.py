"""AWS organisation benchmark: one AWS Config aggregator against the per-account fan-out.

Run ``python bench/bench_aws_org.py`` (or ``nox -s bench -- aws-org``); ``--accounts 50
--regions 5`` set the organisation's size. A moto server (a separate process on 127.0.0.1)
holds the organisation: the management account and ``accounts - 1`` member accounts, each with
two buckets in every region (the first of each account's first region replicating to its
second region's bucket) and one RDS instance. moto has no ``SelectAggregateResourceConfig`` and
no ``DescribeConfigurationAggregatorSourcesStatus``: a small loopback server speaks AWS Config's
JSON protocol (``X-Amz-Target: StarlingDoveService.<Operation>``, the shapes of botocore's
``config`` service model) and answers from the same answer key, with the configuration items in
AWS Config's resource schema (paged by 100, as the service does).

Both contenders are :func:`residency_audit.providers.aws.scanner.scan_aws` with ``org_role``,
``services=["s3", "rds"]`` and the regions, each in its own child process, in the same run:

(a) ``config``: the aggregator answers for every account (``config_aggregator=True``);
(b) ``fanout``: every account entered with ``AssumeRole`` and read region by region
    (``config_aggregator=False``).

Requests are every HTTP attempt the child's botocore clients send (``before-send``), to moto and
to the Config fake alike; wall time is the scan alone, median of ``--repeat`` runs; CPU is the
child's process time. Correct means every bucket's account, region and replication destinations
and every instance's account and region equal the answer key.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_aws import CREDS, _count_sends, _free_port, _peak_rss_kib, _reset, _wait

ROOT = Path(__file__).resolve().parent.parent
ALL_REGIONS = ("eu-north-1", "eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2",
               "ca-central-1", "eu-west-3")
MANAGEMENT = "123456789012"
ROLE = "ResidencyAudit"


# ---------------------------------------------------------------- the organisation

def seed(accounts: int, regions: tuple[str, ...]) -> dict[str, Any]:
    """Create the organisation in moto; return the answer key (buckets, instances)."""
    import boto3
    from botocore.config import Config

    cfg = Config(max_pool_connections=32, retries={"max_attempts": 10})
    session = boto3.Session(region_name="us-east-1")
    org = session.client("organizations", config=cfg)
    org.create_organization(FeatureSet="ALL")
    ids = [MANAGEMENT] + [org.create_account(AccountName=f"a{i:03d}", Email=f"a{i}@region.example")
                          ["CreateAccountStatus"]["AccountId"] for i in range(1, accounts)]
    sts = session.client("sts", config=cfg)
    key: dict[str, Any] = {"buckets": {}, "instances": {}}

    def account_session(account: str) -> Any:
        if account == MANAGEMENT:
            return session
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")["Credentials"]
        return boto3.Session(region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                             aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])

    def one(index_account: tuple[int, str]) -> dict[str, Any]:
        i, account = index_account
        s = account_session(account)
        out: dict[str, Any] = {"buckets": {}, "instances": {}}
        for region in regions:
            s3 = s.client("s3", region_name=region, config=cfg)
            for j in range(2):
                name = f"org-{i:03d}-{region}-{j}"
                extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                s3.create_bucket(Bucket=name, **extra)
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
                out["buckets"][name] = {"account": account, "region": region, "dests": []}
        first = f"org-{i:03d}-{regions[0]}-0"
        if len(regions) > 1:
            dest = f"org-{i:03d}-{regions[1]}-0"
            s.client("s3", region_name=regions[0], config=cfg).put_bucket_replication(
                Bucket=first, ReplicationConfiguration={"Role": f"arn:aws:iam::{account}:role/r", "Rules": [{
                    "ID": "dr", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}]})
            out["buckets"][first]["dests"] = [dest]
        db = f"journal-{i:03d}"
        s.client("rds", region_name=regions[0], config=cfg).create_db_instance(
            DBInstanceIdentifier=db, DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUsername="admin", MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
        out["instances"][f"arn:aws:rds:{regions[0]}:{account}:db:{db}"] = {"account": account, "region": regions[0]}
        return out

    with ThreadPoolExecutor(8) as pool:
        for part in pool.map(one, enumerate(ids)):
            key["buckets"].update(part["buckets"])
            key["instances"].update(part["instances"])
    for r in regions:
        session.client("ec2", region_name=r, config=cfg).describe_regions(AllRegions=True)  # warm moto's EC2
    return key


def config_items(key: dict[str, Any]) -> list[str]:
    """The answer key as AWS Config's configuration items (JSON texts), sorted."""
    items = []
    for name, b in sorted(key["buckets"].items()):
        supplementary: dict[str, Any] = {}
        if b["dests"]:
            supplementary["ReplicationConfiguration"] = json.dumps({
                "roleARN": f"arn:aws:iam::{b['account']}:role/r",
                "rules": [{"id": "dr", "prefix": "", "status": "Enabled",
                           "destinationConfig": {"bucketARN": f"arn:aws:s3:::{d}"}} for d in b["dests"]]})
        items.append({"resourceId": name, "resourceName": name, "resourceType": "AWS::S3::Bucket",
                      "accountId": b["account"], "awsRegion": b["region"], "arn": f"arn:aws:s3:::{name}",
                      "configuration": {"name": name}, "supplementaryConfiguration": supplementary, "tags": []})
    for arn, i in sorted(key["instances"].items()):
        ident = arn.rsplit(":", 1)[1]
        items.append({"resourceId": ident, "resourceName": ident, "resourceType": "AWS::RDS::DBInstance",
                      "accountId": i["account"], "awsRegion": i["region"], "arn": arn,
                      "configuration": {"dBInstanceIdentifier": ident, "dBInstanceArn": arn, "engine": "postgres",
                                        "readReplicaDBInstanceIdentifiers": []},
                      "supplementaryConfiguration": {}, "tags": []})
    return [json.dumps(i, sort_keys=True) for i in items]


def serve_config(items: list[str], regions: tuple[str, ...]) -> ThreadingHTTPServer:
    """AWS Config's JSON protocol on 127.0.0.1 for the three operations the scan calls."""
    aggregator = {"ConfigurationAggregatorName": "org-residency",
                  "ConfigurationAggregatorArn": f"arn:aws:config:us-east-1:{MANAGEMENT}:config-aggregator/"
                                                "config-aggregator-bench",
                  "OrganizationAggregationSource": {"RoleArn": f"arn:aws:iam::{MANAGEMENT}:role/aggregator",
                                                    "AwsRegions": list(regions), "AllAwsRegions": False}}
    statuses = [{"SourceId": "o-benchorg", "SourceType": "ORGANIZATION", "AwsRegion": r,
                 "LastUpdateStatus": "SUCCEEDED", "LastUpdateTime": 1.7e9} for r in regions]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            op = str(self.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]
            if op == "DescribeConfigurationAggregators":
                answer: dict[str, Any] = {"ConfigurationAggregators": [aggregator]}
            elif op == "DescribeConfigurationAggregatorSourcesStatus":
                answer = {"AggregatedSourceStatusList": statuses}
            elif op == "SelectAggregateResourceConfig":
                start = int(body.get("NextToken") or 0)
                size = min(int(body.get("MaxResults") or 100), 100)
                answer = {"Results": items[start:start + size], "QueryInfo": {"SelectFields": []}}
                if start + size < len(items):
                    answer["NextToken"] = str(start + size)
            else:
                self._send(400, {"__type": "InvalidAction", "message": op})
                return
            self._send(200, answer)

        def _send(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------- contenders (child processes)

def child(name: str, regions: tuple[str, ...], workers: int) -> None:
    """Run one contender; print one JSON line."""
    import boto3

    sys.path.insert(0, str(ROOT / "src"))
    from residency_audit.providers.aws.scanner import scan_aws

    counter = _count_sends()
    session = boto3.Session(region_name="us-east-1")
    started, cpu = time.perf_counter(), time.process_time()
    estate = scan_aws(session=session, regions=list(regions), services=["s3", "rds"], org_role=ROLE,
                      max_workers=workers, config_aggregator=name == "config")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    found: dict[str, Any] = {"buckets": {}, "instances": {}}
    for r in estate.resources:
        if r.kind == "bucket":
            found["buckets"][r.name] = {"account": r.account, "region": ",".join(p.code for p in r.placements),
                                        "dests": sorted(x.target.split(":::", 1)[1] for x in r.links)}
        elif r.kind == "db-instance":
            found["instances"][r.id] = {"account": r.account, "region": ",".join(p.code for p in r.placements)}
    print(json.dumps({"seconds": seconds, "cpu": cpu, "calls": counter["calls"], "peak_kib": _peak_rss_kib(),
                      "gaps": sorted({f"{g.service}:{g.error}" for g in estate.gaps}), "found": found}))


def score(found: dict[str, Any], key: dict[str, Any]) -> tuple[int, int]:
    """(right, total) over buckets and instances."""
    total = len(key["buckets"]) + len(key["instances"])
    right = sum(1 for k, v in key["buckets"].items() if found["buckets"].get(k) == v)
    right += sum(1 for k, v in key["instances"].items() if found["instances"].get(k) == v)
    return right, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--regions", type=int, default=5)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=("config", "fanout"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    regions = ALL_REGIONS[: max(1, min(args.regions, len(ALL_REGIONS)))]
    if args.child:
        child(args.child, regions, args.workers)
        return 0
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update({**CREDS, "AWS_ENDPOINT_URL": url})
    fake = None
    try:
        _wait(url)
        _reset(url)
        t0 = time.perf_counter()
        key = seed(args.accounts, regions)
        print(f"seeded {args.accounts} accounts x {len(regions)} regions ({len(key['buckets'])} buckets, "
              f"{len(key['instances'])} instances) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        fake = serve_config(config_items(key), regions)
        env = {**os.environ, "AWS_ENDPOINT_URL_CONFIG_SERVICE": f"http://127.0.0.1:{fake.server_address[1]}"}
        results: dict[str, list[dict[str, Any]]] = {"fanout": [], "config": []}
        for _ in range(args.repeat):
            for name in results:
                done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name,
                                       "--accounts", str(args.accounts), "--regions", str(args.regions),
                                       "--workers", str(args.workers)],
                                      env=env, capture_output=True, text=True, timeout=1800)
                if done.returncode != 0:
                    raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
                results[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        if fake is not None:
            fake.shutdown()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    base = statistics.median(r["seconds"] for r in results["fanout"])
    base_cpu = statistics.median(r["cpu"] for r in results["fanout"])
    print(f"{args.accounts} accounts x {len(regions)} regions, services s3+rds, {args.workers} workers, "
          f"median of {args.repeat}")
    print(f"{'contender':<9} {'requests':>8} {'wall s':>7} {'fanout/x':>8} {'CPU s':>6} {'fanout/x':>8} "
          f"{'peak MB':>8} {'correct':>11}  gaps")
    for name, runs in results.items():
        secs = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        right, total = score(runs[0]["found"], key)
        print(f"{name:<9} {runs[0]['calls']:>8} {secs:>7.2f} {base / secs:>8.2f} {cpu:>6.2f} {base_cpu / cpu:>8.2f} "
              f"{max(r['peak_kib'] for r in runs) / 1024:>8.1f} {right:>5}/{total:<5}  "
              f"{', '.join(runs[0]['gaps']) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

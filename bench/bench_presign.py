"""Micro-benchmark: the time to sign presigned PUT and GET URLs, local store and S3.

What it measures
    The CPU cost of `presign_put` and `presign_get` for `--count` distinct keys (default 1,000)
    on `LocalObjectStore` (HMAC-SHA256, the app's /storage URLs) and `S3ObjectStore` (boto3's
    SigV4 query signing), plus the local store's `verify` of the same PUT URLs (the work the
    /storage route does before it touches the body). Each row is the median of `--rounds`
    timed rounds after one warm-up round. Presigning never uses the network: the S3 endpoint
    only changes the host in the URL, so the numbers are the same with or without a server.

How to run
    .venv/bin/python bench/bench_presign.py
    .venv/bin/python bench/bench_presign.py --start-moto          # sign for a local moto_server
    .venv/bin/python bench/bench_presign.py --endpoint http://127.0.0.1:9000 --bucket docs

    S3 uses fixed dummy credentials (set in this process only), so nothing is looked up.
    With --endpoint (or $S3_ENDPOINT_URL) the script checks whether the server answers and says
    so; with --start-moto it starts `python -m moto.server` on a free loopback port, checks
    that one signed PUT and GET work against it, and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from persistence.storage import LocalObjectStore, S3ObjectStore, object_key  # noqa: E402

PDF = "application/pdf"
SIZE = 2_500_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(endpoint: str) -> bool:
    try:
        httpx.get(endpoint, timeout=1)
    except httpx.HTTPError:
        return False
    return True


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto_server process on a free loopback port; stopped when the block ends."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not reachable(endpoint):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def timed(action: Callable[[str], object], keys: list[str], rounds: int) -> float:
    """Median seconds to run `action` once per key, after one warm-up round."""
    for key in keys:
        action(key)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for key in keys:
            action(key)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def smoke_test(store: S3ObjectStore, endpoint: str) -> str:
    """Create the bucket, PUT and GET one object through signed URLs."""
    store._client.create_bucket(Bucket=store.bucket)
    key = object_key(uuid4(), "bench", "smoke")
    body = b"%PDF-1.7 bench"
    put = httpx.put(
        store.presign_put(key, PDF, len(body), 60), content=body, headers={"Content-Type": PDF}
    )
    get = httpx.get(store.presign_get(key, 60, "smoke.pdf", PDF))
    ok = put.status_code == 200 and get.content == body
    return f"signed PUT+GET against {endpoint}: {'ok' if ok else 'FAILED'}"


def run(args: argparse.Namespace, endpoint: str | None, note: str) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    keys = [object_key(uuid4(), "documents", str(uuid4()), "v1") for _ in range(args.count)]
    local = LocalObjectStore(Path(tempfile.gettempdir()) / "reos-bench-objects", "bench-secret")
    s3 = S3ObjectStore(args.bucket, endpoint, "us-east-1")
    if args.start_moto and endpoint:
        note += "; " + smoke_test(s3, endpoint)

    put_urls = {key: local.presign_put(key, PDF, SIZE, 900) for key in keys}
    put_params = {
        key: {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
        for key, url in put_urls.items()
    }
    rows = [
        ("local (HMAC-SHA256)", "presign_put", lambda k: local.presign_put(k, PDF, SIZE, 900)),
        ("local (HMAC-SHA256)", "presign_get", lambda k: local.presign_get(k, 900, "a.pdf", PDF)),
        ("local (HMAC-SHA256)", "verify PUT URL", lambda k: local.verify("PUT", k, put_params[k])),
        ("s3 (boto3 SigV4)", "presign_put", lambda k: s3.presign_put(k, PDF, SIZE, 900)),
        ("s3 (boto3 SigV4)", "presign_get", lambda k: s3.presign_get(k, 900, "a.pdf", PDF)),
    ]
    print(
        f"CPUs: {os.cpu_count()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}; "
        f"{args.count} distinct keys per round, median of {args.rounds} rounds; {note}"
    )
    print()
    print("| store | operation | URLs | total ms | µs / URL | URLs / s |")
    print("|---|---|---:|---:|---:|---:|")
    for store_name, operation, action in rows:
        seconds = timed(action, keys, args.rounds)
        print(
            f"| {store_name} | {operation} | {args.count:,} | {seconds * 1000:.1f} | "
            f"{seconds / args.count * 1e6:.1f} | {args.count / seconds:,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bucket", default="reos-bench")
    parser.add_argument("--endpoint", default=os.environ.get("S3_ENDPOINT_URL") or None)
    parser.add_argument("--start-moto", action="store_true", help="sign for a local moto_server")
    args = parser.parse_args()
    if args.start_moto:
        with moto_server() as endpoint:
            run(args, endpoint, f"S3 endpoint: moto_server at {endpoint}")
        return
    if args.endpoint:
        state = "reachable" if reachable(args.endpoint) else "not reachable (signing is offline)"
        run(args, args.endpoint, f"S3 endpoint: {args.endpoint}, {state}")
        return
    run(args, None, "S3 endpoint: AWS default (offline signing with dummy credentials)")


if __name__ == "__main__":
    main()

"""`python -m bench`: our GraphQL server against PostGraphile v4 on the same PostgreSQL.

    python -m bench                          # 2,000 properties, 4 queries, 10 and 50 clients
    python -m bench --scale 10 --seconds 5   # 10x the data
    python -m bench --queries dashboard,search --clients 10
    python -m bench --profile dashboard      # pyinstrument profile of our server, in-process

See bench/README.md, "Ours vs PostGraphile".
"""

from __future__ import annotations

import argparse
import signal
import sys

from bench.perf.queries import QUERIES


def _names(raw: str) -> list[str]:
    names = [item.strip() for item in raw.split(",") if item.strip()]
    unknown = [name for name in names if name not in QUERIES]
    if unknown or not names:
        choices = ",".join(QUERIES)
        raise argparse.ArgumentTypeError(f"unknown query {unknown}; choose from {choices}")
    return names


def _counts(raw: str) -> list[int]:
    try:
        values = [int(item) for item in raw.split(",") if item.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected integers like 10,50, got {raw!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("client counts must be positive")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Our server vs PostGraphile v4 on the same database."
    )
    parser.add_argument("--scale", type=int, default=1, help="x 2,000 properties (default 1)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per row")
    parser.add_argument(
        "--clients",
        type=_counts,
        default=[10, 50],
        help="concurrent connections, one row each (default 10,50; 50 is for peak RSS)",
    )
    parser.add_argument(
        "--queries", type=_names, default=list(QUERIES), help=f"from {','.join(QUERIES)}"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the dataset again")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument(
        "--profile",
        choices=list(QUERIES),
        help="instead of the comparison: profile this query on our app in-process (pyinstrument)",
    )
    parser.add_argument("--iterations", type=int, default=50, help="--profile: requests")
    parser.add_argument(
        "--profile-clients",
        type=int,
        default=1,
        help="--profile: concurrent in-process clients (default 1: sequential)",
    )
    parser.add_argument(
        "--interval", type=float, default=0.0005, help="--profile: sampling interval (s)"
    )
    parser.add_argument("--lines", type=int, default=40, help="--profile: lines of each view")
    args = parser.parse_args(argv)
    if min(args.scale, args.iterations, args.profile_clients) < 1 or args.seconds <= 0:
        parser.error("--scale, --seconds, --iterations and --profile-clients must be positive")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers on SIGTERM as on Ctrl-C
    from bench.perf.dataset import DatasetError
    from bench.perf.processes import RunError

    try:
        if args.profile:
            from bench.perf.profile import run_profile

            return run_profile(args)
        from bench.perf.run import run

        return run(args)
    except (RunError, DatasetError) as exc:
        print(f"bench aborted: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

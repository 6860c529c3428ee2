"""`python -m bench --profile QUERY`: where our server spends a request's time.

The query runs ``--iterations`` times, one after the other (or from ``--profile-clients``
concurrent tasks), through our real ASGI app in this process (after 3 warm-up requests), under
pyinstrument (statistical, every ``--interval`` seconds, async-aware: time a coroutine waits
shows as ``[await]`` under the awaiting frame). Printed: the top of the flat view by self time
(where CPU goes, whichever caller), then the top of the call tree.
"""

from __future__ import annotations

import asyncio
import platform
from typing import Any

from bench.perf.dataset import ensure_dataset
from bench.perf.inprocess import profile
from bench.perf.queries import QUERIES
from bench.perf.run import detail_deal, payload


def _body(text: str) -> list[str]:
    """pyinstrument's text without its banner (everything up to "Profile at ...")."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Profile at ")]
    return lines[starts[0] + 1 :] if starts else lines


def _flat(text: str, lines: int) -> str:
    return "\n".join(_body(text)[:lines])


def _tree(text: str, lines: int) -> str:
    """The call tree from asyncio's ``Handle._run`` (above it: runpy and the event loop)."""
    body = _body(text)
    start = next((i for i, line in enumerate(body) if "Handle._run" in line), 0)
    return "\n".join(body[start:][:lines])


def run_profile(args: Any) -> int:
    query = QUERIES[args.profile]
    db = ensure_dataset(args.scale, rebuild=args.rebuild)
    deal_uuid = asyncio.run(detail_deal(db))
    profiler, per_request, size = asyncio.run(
        profile(
            db,
            query.name,
            payload(query, True, deal_uuid),
            args.iterations,
            args.interval,
            args.profile_clients,
        )
    )
    session = profiler.last_session
    print(
        f"profile of {query.label} on our app in-process (Python {platform.python_version()}): "
        f"{args.iterations} requests from {args.profile_clients} concurrent client(s), "
        f"{per_request * 1000:.1f} ms of wall time per request with the profiler on, "
        f"{size:,} response bytes; dataset {db.counts.describe()}; "
        f"{session.sample_count} samples every {args.interval * 1000:g} ms; "
        f"{session.duration:.2f} s wall, {session.cpu_time:.2f} s CPU in the profiled loop"
    )
    print()
    print(f"### Flat, by self time (top {args.lines})")
    print()
    print("```")
    print(_flat(profiler.output_text(unicode=True, color=False, flat=True), args.lines))
    print("```")
    print()
    print(f"### Call tree (top {args.lines} lines)")
    print()
    print("```")
    print(_tree(profiler.output_text(unicode=True, color=False), args.lines))
    print("```")
    return 0

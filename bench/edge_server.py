"""Bench-only launcher for ``bench_edge.py``: ``reos serve``, optionally without query limits.

    .venv/bin/python bench/edge_server.py [--limits on|off] [reos serve options]
    .venv/bin/python bench/edge_server.py --setup

With ``--limits on`` (the default) this is exactly ``reos serve``: ``server.cli.main`` with the
given options (``create_app`` under uvicorn, settings from the environment).

``--setup`` applies the migrations and seeds (what ``reos serve --migrate --seed-if-empty`` does
before serving), then exits. The benchmark runs it in a process of its own so that no measured
server carries what migrating and seeding left in its heap: in trials, a server that had
migrated in-process served this benchmark's tiny query about 10 % slower than its siblings.

With ``--limits off`` it first replaces ``schema.root.limits_extension`` *in this process only*
by a factory that returns Strawberry's plain ``ValidationCache`` (same ``maxsize=512``). Every
operation is then still parsed (``ParserCache``) and validated through the same shared LRU, but
nothing counts directives, measures depth / aliases / root fields / page sizes / cost, or sets
the parser's token limit. Everything else (the HTTP endpoint, the other extensions, persisted
queries, the rate-limit extension) is the production code, unchanged. ``build_schema`` looks the
name up when it runs, so patching it before ``create_app`` is enough. Nothing outside this
launcher changes; the production ``reos serve`` never runs this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a script: bench/ is sys.path[0], not the repository


def remove_query_limits() -> None:
    """Build the schema with cached validation only, in place of the query-limits extension."""
    from strawberry.extensions import ValidationCache

    import schema.root

    class CachedValidationOnly(ValidationCache):
        """What QueryLimitsExtension does, minus the limits: ValidationCache(maxsize=512)."""

        def __init__(self) -> None:
            super().__init__(maxsize=512)

    def no_limits(_limits: object) -> type[ValidationCache]:
        return CachedValidationOnly

    schema.root.limits_extension = no_limits  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", choices=("on", "off"), default="on")
    parser.add_argument("--setup", action="store_true", help="migrate and seed, then exit")
    args, serve_options = parser.parse_known_args(argv)
    if args.setup:
        from server.cli import cmd_migrate, cmd_seed
        from server.logging import configure_logging
        from server.settings import Settings

        settings = Settings.from_env()
        settings.check()
        configure_logging(settings.log_level)
        cmd_seed(settings, cmd_migrate(settings))
        return
    if args.limits == "off":
        remove_query_limits()
        print("edge_server: query limits OFF (bench-only hook)", file=sys.stderr, flush=True)
    from server.cli import main as reos_main

    reos_main(["serve", *serve_options])


if __name__ == "__main__":
    main()

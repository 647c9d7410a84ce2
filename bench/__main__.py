"""`python -m bench`: run the benchmark on 127.0.0.1, write a JSON file and print the tables."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench.http_load import wrk_available
from bench.report import summary
from bench.run import STAGES, Bench, Options
from bench.shapes import SHAPES


def _int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("expected positive integers separated by commas, e.g. 1,3,10")
    return values


def _choices(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        unknown = [v for v in values if v not in allowed]
        if not values or unknown:
            raise argparse.ArgumentTypeError(f"expected some of {','.join(allowed)} separated by commas")
        return values

    return parse


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--years", type=int, default=1, help="years of sample data for the main run (default 1)")
    parser.add_argument("--growth", type=_int_list, default=None, help="years per growth point (default 1,3,10)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per latency cell (default 8)")
    parser.add_argument("--load-seconds", type=float, default=None, help="load test duration (default 60)")
    parser.add_argument("--quick", action="store_true", help="smoke run: growth 1,2, 1 s cells, 10 s load test")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default .bench/results.json)")
    parser.add_argument("--no-growth", action="store_true", help="skip the growth runs")
    parser.add_argument("--no-load-test", action="store_true", help="skip the load test")
    parser.add_argument(
        "--only",
        type=_choices(STAGES),
        default=None,
        help=f"run only these stages after the backfill and incremental ({','.join(STAGES)}); implies --no-growth. "
        "E.g. --only floor,api --shapes point_read for the floor and point cells alone",
    )
    parser.add_argument(
        "--shapes", type=_choices(tuple(SHAPES)), default=None, help=f"query shapes measured ({','.join(SHAPES)})"
    )
    parser.add_argument("--rebuild-gold", action="store_true", help="rebuild the cached sample Gold databases")
    parser.add_argument("--keep-data", action="store_true", help="keep the DATA_DIRs under .bench/ for inspection")
    parser.add_argument(
        "--client",
        choices=["auto", "aiohttp", "wrk"],
        default="auto",
        help="HTTP client of the latency cells; auto = wrk when on PATH, else aiohttp (the load test uses aiohttp)",
    )
    args = parser.parse_args(argv)
    opts = Options(years=args.years, rebuild_gold=args.rebuild_gold, keep_data=args.keep_data)
    if args.quick:
        opts.growth, opts.duration_s, opts.growth_duration_s = [1, 2], 1.0, 1.0
        opts.load_seconds, opts.ondemand_iterations, opts.ondemand_max_s = 10.0, 20, 5.0
        opts.paired_rounds = 5
        opts.floor_rounds, opts.floor_duration_s, opts.inprocess_requests = 1, 1.0, 300
    if args.growth is not None:
        opts.growth = args.growth
    if args.no_growth:
        opts.growth = []
    if args.duration is not None:
        opts.duration_s = args.duration
    if args.load_seconds is not None:
        opts.load_seconds = args.load_seconds
    if args.out is not None:
        opts.out = args.out
    opts.skip_load_test = args.no_load_test
    if args.only is not None:
        opts.stages, opts.growth = frozenset(args.only), []
    if args.shapes is not None:
        opts.shapes = args.shapes
    if args.client == "wrk" and not wrk_available():
        parser.error("--client wrk: wrk is not on PATH")
    opts.client = ("wrk" if wrk_available() else "aiohttp") if args.client == "auto" else args.client
    return opts


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so the `with DevHost(...)` blocks kill their subprocesses.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    bench = Bench(opts)
    try:
        bench.main_scenario()
        if opts.growth:
            bench.growth()
    finally:
        bench.save()
        print("\n" + summary(bench.results))
        print(f"\nresults: {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

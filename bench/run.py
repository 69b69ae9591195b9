"""Command line: ``python -m bench.run [--quick] [--scale] [--only NAME] [--json PATH]
[--plot PNG] [--write-results]``.

Runs the selected cases against securemq and pyzmq (interleaved), prints the ratio table, and
exits with status 1 if any run failed (a lost message, a timeout, a worker that died). A run that
cannot be done here (too few file descriptors for 10,000 peers, say) is reported as skipped and
does not change the exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence

from . import plot, report
from .cases import (
    FULL,
    IMPLEMENTATIONS,
    METRICS,
    QUICK,
    TABLE_METRICS,
    Case,
    full_cases,
    quick_cases,
    quick_scale_cases,
    scale_cases,
    select,
)
from .runner import RunResult, run_cases


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run",
                                description="securemq benchmarks, side by side with pyzmq")
    p.add_argument("--quick", action="store_true",
                   help="about a minute: fewer cases, one short run per implementation")
    p.add_argument("--scale", action="store_true",
                   help="run the scale cases (ROUTER with 10..10,000 DEALERs, PUB with many "
                        "SUBs, connection storms) instead of the default set; with --quick "
                        "up to 1,000 peers")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run the cases whose name contains NAME or matches it as a glob, or is "
                        "exactly NAME (repeatable; also finds the scale cases)")
    p.add_argument("--json", metavar="PATH", help="write every run and the medians as JSON")
    p.add_argument("--plot", metavar="PNG",
                   help="draw the ratios and the peer-count curves (needs matplotlib: "
                        "pip install -e '.[bench]'); later: python -m bench.plot RESULTS.json PNG")
    p.add_argument("--write-results", action="store_true",
                   help=f"write the table and the machine to {report.RESULTS_PATH.name}")
    p.add_argument("--impl", action="append", choices=IMPLEMENTATIONS, metavar="MODULE",
                   help="implementations to run (default: securemq and zmq)")
    p.add_argument("--repeats", type=int, metavar="N", help="runs per implementation")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="sending time per run")
    p.add_argument("--max-msgs", type=int, metavar="N",
                   help="message bound per run (also bounds round trips and connections)")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    return p


def _describe(run: RunResult, case: Case) -> str:
    if run.error:
        return f"ERROR {run.error}"
    if run.skipped:
        return f"SKIPPED: {run.skipped}"
    shown = []
    for metric in METRICS[case.kind]:
        if metric.key not in TABLE_METRICS[case.kind] or metric.key not in run.metrics:
            continue
        value = run.metrics[metric.key]
        shown.append(f"{value:,.1f} {metric.unit}" if value < 100 else
                     f"{value:,.0f} {metric.unit}")
    return ", ".join(shown)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.repeats is not None:
        settings = dataclasses.replace(settings, repeats=max(1, args.repeats))
    if args.duration is not None:
        settings = dataclasses.replace(settings, duration=max(0.0, args.duration))
    if args.max_msgs is not None:
        bound = max(1, args.max_msgs)
        settings = dataclasses.replace(settings, max_msgs=bound, max_round_trips=bound,
                                       max_conns=bound)
    default = quick_cases() if args.quick else full_cases()
    if args.scale:
        pool = quick_scale_cases() if args.quick else scale_cases()
    elif args.only:  # an explicit --only also finds the scale cases
        pool = [*default, *scale_cases()]
    else:
        pool = default
    cases = select(pool, args.only)
    impls: list[str] = args.impl or list(IMPLEMENTATIONS)
    if args.list:
        print("\n".join(case.name for case in cases))
        return 0
    if not cases:
        print(f"bench: no case matches {args.only}", file=sys.stderr)
        return 2
    if args.plot and (missing := plot.missing()):
        print(f"bench: --plot: {missing}", file=sys.stderr)
        return 2

    total = len(cases) * settings.repeats * len(impls)
    done = 0

    def progress(case: Case, run: RunResult, repeat: int) -> None:
        nonlocal done
        done += 1
        print(f"[{done}/{total}] {case.name} {run.impl} #{repeat + 1}: {_describe(run, case)}",
              file=sys.stderr, flush=True)

    # AF_UNIX paths are short (107 bytes): keep ipc files in a short private dir under /tmp.
    ipc_dir = tempfile.mkdtemp(prefix="smqb-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        results = run_cases(cases, impls, settings, ipc_dir, progress)
    finally:
        shutil.rmtree(ipc_dir, ignore_errors=True)

    print(report.markdown_table(results))
    section = report.goals_section(results)
    if section:
        print("\n" + section)
    issues = report.problems(results)
    for issue in issues:
        print(issue, file=sys.stderr)
    info = report.machine()
    command = shlex.join(["python", "-m", "bench.run", *(argv if argv is not None
                                                         else sys.argv[1:])])
    document = report.to_json(results, settings, info, [command])
    if args.json:
        report.write_json(args.json, document)
    if args.plot:
        plot.plot(document, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.write_results:
        report.RESULTS_PATH.write_text(report.results_markdown(results, settings, info, command),
                                       encoding="utf-8")
        print(f"wrote {report.RESULTS_PATH}", file=sys.stderr)
    return 1 if any(result.errors for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Plots of benchmark results: ``python -m bench.plot RESULTS.json OUT.png``.

Draws from the JSON document that ``python -m bench.run --json PATH`` writes (``--plot PNG`` draws
the same right after a run), in one PNG:

(a) securemq relative to pyzmq, one bar per case, on a log scale: the ratio of the case's first
    table metric, turned over for times (latency, connect time, memory, CPU) so that a bar below
    1 always means securemq is slower or costlier, above 1 faster;
(b) round trips per second against the number of DEALERs (log-log), securemq and pyzmq, one line
    per ``router`` family (``router/1proc``, ``router/4proc``, ``router-idle``);
(c) CPU time per round trip against the number of DEALERs: a flat line means the cost of a
    message does not grow with the number of (idle) peers.

A skipped or failed point is left out and named in the legend. matplotlib is an optional
dependency (``pip install -e '.[bench]'``), imported here only, and only when drawing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from .cases import BASELINE, METRICS, TABLE_METRICS, Kind, Metric

MISSING = ("matplotlib is not installed: pip install -e '.[bench]' "
           "(or pip install 'matplotlib>=3.8')")
_LABELS = {BASELINE: "pyzmq"}
_STYLES = {"securemq": "-", BASELINE: "--"}
_MARKERS = {"securemq": "o", BASELINE: "s"}


class PlotError(Exception):
    """The plot cannot be drawn (matplotlib missing, nothing to draw)."""


def missing() -> str | None:
    """Why plotting cannot work here (matplotlib is missing), or None."""
    return MISSING if importlib.util.find_spec("matplotlib") is None else None


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotError(MISSING) from exc
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _metric(kind: Kind, key: str) -> Metric:
    return next(metric for metric in METRICS[kind] if metric.key == key)


def relative_performance(document: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, securemq relative to pyzmq) per case with both medians: the first table metric's
    ratio, inverted when lower is better, so that below 1 means securemq is slower."""
    bars = []
    for case in document["cases"]:
        kind = case["kind"]
        key = TABLE_METRICS[kind][0]
        ratio = case["ratios"].get(key)
        if not ratio:
            continue
        metric = _metric(kind, key)
        bars.append((f"{case['name']} ({metric.label})",
                     ratio if metric.higher_is_better else 1.0 / ratio))
    return bars


def _peers(case: dict[str, Any]) -> int:
    return int(case.get("peers") or case["name"].rsplit("/", 1)[1])


def peer_curves(document: dict[str, Any], key: str
                ) -> dict[tuple[str, str], tuple[list[tuple[int, float]], list[int]]]:
    """For ``router`` cases: (family, implementation) -> (sorted (peers, median of ``key``), the
    peer counts that have no median: skipped or failed)."""
    curves: dict[tuple[str, str], tuple[list[tuple[int, float]], list[int]]] = {}
    for case in document["cases"]:
        if case["kind"] != "router":
            continue
        family = case["name"].rsplit("/", 1)[0]
        for impl in case["runs"]:
            points, absent = curves.setdefault((family, impl), ([], []))
            value = case["medians"].get(impl, {}).get(key)
            if value is None:
                absent.append(_peers(case))
            else:
                points.append((_peers(case), value))
    for points, absent in curves.values():
        points.sort()
        absent.sort()
    return curves


def ticks_125(low: float, high: float) -> list[float]:
    """1-2-5 ticks within [low, high] (both > 0), for readable log axes; at least two (the ends,
    rounded, when the range holds fewer)."""
    ticks = [mantissa * 10.0 ** exponent
             for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             for mantissa in (1, 2, 5)
             if low / 1.01 <= mantissa * 10.0 ** exponent <= high * 1.01]
    if len(ticks) < 2:
        ticks = sorted({*ticks, float(f"{low:.2g}"), float(f"{high:.2g}")})
    return ticks


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:g}"


def _log_axis(ax: Any, axis: str, values: Sequence[float], ticks: Sequence[float] | None = None,
              ) -> None:
    """A log axis labelled with plain numbers (1-2-5 ticks over ``values``, or ``ticks``)."""
    ticker = importlib.import_module("matplotlib.ticker")
    chosen = list(ticks) if ticks is not None else ticks_125(min(values), max(values))
    target = ax.xaxis if axis == "x" else ax.yaxis
    getattr(ax, f"set_{axis}scale")("log")
    target.set_major_locator(ticker.FixedLocator(chosen))
    target.set_major_formatter(ticker.FixedFormatter([_label(t) for t in chosen]))
    target.set_minor_formatter(ticker.NullFormatter())


def _draw_bars(ax: Any, bars: Sequence[tuple[str, float]]) -> None:
    ax.set_title("(a) securemq relative to pyzmq, per case (rates: securemq / pyzmq; times, "
                 "memory, CPU: pyzmq / securemq)\nbelow 1: securemq slower", fontsize=9)
    if not bars:
        ax.text(0.5, 0.5, "no case with results from both implementations", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    labels = [label for label, _ in bars]
    values = [value for _, value in bars]
    positions = list(range(len(bars)))
    colors = ["tab:red" if v < 1 else "tab:green" for v in values]
    ax.barh(positions, values, color=colors, left=0)
    _log_axis(ax, "x", [*values, 1.0])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(positions, labels, fontsize=7)
    ax.invert_yaxis()
    for pos, value in zip(positions, values, strict=True):
        ax.text(value, pos, f" {value:.2g}", va="center", fontsize=6)
    ax.grid(axis="x", which="both", alpha=0.3)


def _draw_curves(ax: Any, document: dict[str, Any], key: str, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=9)
    curves = peer_curves(document, key)
    if not any(points for points, _ in curves.values()):
        ax.text(0.5, 0.5, "no router/* results (run with --scale or --only router)",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    families = sorted({family for family, _ in curves})
    colors = {family: f"C{i}" for i, family in enumerate(families)}
    xs_all = sorted({n for points, _ in curves.values() for n, _ in points})
    ys_all = [y for points, _ in curves.values() for _, y in points]
    for (family, impl), (points, absent) in sorted(curves.items()):
        label = f"{family} {_LABELS.get(impl, impl)}"
        if absent:
            label += f" (no result for N={', '.join(f'{n:,}' for n in absent)})"
        if not points:
            ax.plot([], [], label=label, color=colors[family])
            continue
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, _STYLES.get(impl, ":"), marker=_MARKERS.get(impl, "^"),
                color=colors[family], label=label)
    _log_axis(ax, "x", xs_all, xs_all)
    _log_axis(ax, "y", ys_all)
    ax.set_xlabel("DEALERs connected to the ROUTER (N)")
    ax.set_ylabel(ylabel)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot(document: dict[str, Any], path: str) -> None:
    """Draw the three panels of ``document`` (a ``bench.run --json`` document) into ``path``."""
    plt = _pyplot()
    bars = relative_performance(document)
    bar_height = max(2.5, 0.2 * len(bars))
    fig, (ax_a, ax_b, ax_c) = plt.subplots(
        3, 1, figsize=(11, bar_height + 9), gridspec_kw={"height_ratios": [bar_height, 4, 4]})
    _draw_bars(ax_a, bars)
    _draw_curves(ax_b, document, "rt_per_s", "(b) ROUTER <-> N DEALERs: round trips per second",
                 "round trips / s")
    _draw_curves(ax_c, document, "cpu_us_per_rt",
                 "(c) CPU time per round trip (all processes): flat = cost does not grow with N",
                 "CPU us / round trip")
    machine = document.get("machine", {})
    fig.suptitle(f"securemq {machine.get('securemq', '?')} vs pyzmq {machine.get('pyzmq', '?')} "
                 f"(libzmq {machine.get('libzmq', '?')}), {machine.get('nproc', '?')} CPUs, "
                 f"{document.get('date', '')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plot",
                                     description="plot a saved `python -m bench.run --json` file")
    parser.add_argument("results", help="the JSON file written by python -m bench.run --json")
    parser.add_argument("output", help="the PNG file to write")
    args = parser.parse_args(argv)
    try:
        with open(args.results, encoding="utf-8") as f:
            document = json.load(f)
        plot(document, args.output)
    except (OSError, ValueError, KeyError, PlotError) as exc:
        print(f"bench.plot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

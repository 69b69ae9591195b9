"""Watch the records a PUBHandler publishes: ``python -m securemq.log tcp://host:port``.

Prints ``topic | message`` per record; ``--topic`` subscribes to a prefix (a PUBHandler's root
topic), ``--timestamp`` adds the local time, ``--align`` pads topic parts to common widths,
``--color`` colours by level (needs the ``colorama`` package).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import securemq


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser("ZMQ Log Watcher")
    parser.add_argument("zmq_pub_url", type=str, help="URL to a ZMQ publisher socket.")
    parser.add_argument("-t", "--topic", type=str, default="",
                        help="Only receive messages that start with this topic.")
    parser.add_argument("--timestamp", action="store_true",
                        help="Append local time to the log messages.")
    parser.add_argument("--separator", type=str, default=" | ",
                        help="String to print between topic and message.")
    parser.add_argument("--dateformat", type=str, default="%Y-%d-%m %H:%M",
                        help="Set alternative date format for use with --timestamp.")
    parser.add_argument("--align", action="store_true", default=False,
                        help="Try to align messages by the width of their topics.")
    parser.add_argument("--color", action="store_true", default=False,
                        help="Color the output based on the error level. Requires colorama.")
    return parser


def _colors(enabled: bool) -> dict[str, str]:
    if not enabled:
        return {}
    colorama = importlib.import_module("colorama")
    colorama.init()
    fore: Any = colorama.Fore
    return {"DEBUG": fore.LIGHTCYAN_EX, "INFO": fore.LIGHTWHITE_EX, "WARNING": fore.YELLOW,
            "ERROR": fore.LIGHTRED_EX, "CRITICAL": fore.LIGHTRED_EX, "": fore.RESET}


def _aligned(parts: list[str], widths: dict[int, int]) -> str:
    """Pad each topic part to the widest seen at its position (so columns line up)."""
    parts = parts + [" "] * (len(widths) - len(parts))
    for index, part in enumerate(parts):
        widths[index] = max(len(part), widths.get(index, 0))
    return ".".join(part.ljust(widths[index]) for index, part in enumerate(parts))


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    colors = _colors(args.color)
    ctx = securemq.Context()
    sub = ctx.socket(securemq.SUB)
    sub.subscribe(args.topic.encode("utf8"))
    sub.connect(args.zmq_pub_url)
    widths: dict[int, int] = {}
    try:
        while True:
            if not sub.poll(10, securemq.POLLIN):
                continue
            topic_b, msg_b = sub.recv_multipart()[:2]
            topic = topic_b.decode("utf8").strip()
            parts = topic.split(".")
            level = parts[0] if len(parts) == 1 else parts[1]
            stamp = datetime.now().strftime(args.dateformat) + " " if args.timestamp else ""
            shown = _aligned(parts, widths) if args.align else topic
            print(f"{stamp}{colors.get(level, '')}{shown}{args.separator}"
                  f"{msg_b.decode('utf8').strip()}{colors.get('', '')}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sub.close(linger=0)
        ctx.term()


if __name__ == "__main__":
    main()

"""Run a pyzmq program on securemq, unmodified:

    python -m securemq.run script.py [args...]
    python -m securemq.run -m package.module [args...]
    python -m securemq.run -c "import zmq; print(zmq)" [args...]

``import zmq`` then gives securemq in the program and in the Python processes it starts (see
securemq.compat), as with ``python script.py`` / ``python -m module`` otherwise.
"""

from __future__ import annotations

import builtins
import os
import runpy
import sys
from collections.abc import Sequence

from . import compat

USAGE = "usage: python -m securemq.run [-m module | -c command | script.py] [args...]"


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)
    if args[0] in ("-h", "--help"):
        print(f"{USAGE}\n\n{__doc__}")
        raise SystemExit(0)
    if args[0] in ("-m", "-c") and len(args) < 2:
        print(f"{USAGE}\n{args[0]}: argument expected", file=sys.stderr)
        raise SystemExit(2)
    compat.propagate_to_subprocesses()
    compat.install()
    if args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    elif args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        code = compile(args[1], "<string>", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    else:
        sys.argv = args
        sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()

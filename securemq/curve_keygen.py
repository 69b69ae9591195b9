"""Print a new CURVE key pair, Z85-encoded: ``python -m securemq.curve_keygen [--json]
[--secret SECRET]`` (pyzmq's ``python -m zmq.curve_keygen``; also reachable under that name
through ``securemq.run``). With ``--secret`` the public key of that secret key is derived.

Unlike ``securemq-keygen``, which writes certificate files, this prints the secret key: use it
where a terminal's output is safe.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import securemq


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python3 -m zmq.curve_keygen",
        description="Generate a zmq curve keypair (Z85). --json for a JSON object; --secret"
        " SECRET to derive the public key of an existing secret key.",
    )
    parser.add_argument("--json", action="store_true", help="output keys as JSON dict")
    parser.add_argument("--secret", type=str, help="specify secret key to derive a public key")
    opts = parser.parse_args(argv)
    if opts.secret:
        secret = opts.secret
        public = securemq.curve_public(secret.encode()).decode()
    else:
        public_b, secret_b = securemq.curve_keypair()
        public, secret = public_b.decode(), secret_b.decode()
    if opts.json:
        json.dump({"public": public, "secret": secret}, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print("== CURVE PUBLIC KEY ==")
        print(public)
        print()
        print("== CURVE SECRET KEY ==")
        print(secret)


if __name__ == "__main__":
    main()

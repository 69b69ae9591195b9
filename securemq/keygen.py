"""securemq-keygen: create a CURVE certificate pair (NAME.key + NAME.key_secret).

Usage: ``securemq-keygen NAME [--dir keys] [--passphrase-env VAR] [--force] [--json]``
(also ``python -m securemq.keygen``). Exit codes: 0 written, 1 refused (files exist, or an
I/O / key error), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import certs

_DESCRIPTION = """\
Create a CURVE key pair as two certificate files in the czmq/pyzmq format:

  DIR/NAME.key         the public certificate: give it to the peers that must trust you
                       (servers keep their clients' .key files in a directory)
  DIR/NAME.key_secret  the public AND secret key, mode 0600: never share or commit it

DIR is created with mode 0700 if it does not exist. The public key is printed in libzmq's
"== CURVE PUBLIC KEY ==" style, or as a JSON object with --json. The secret key is never
printed.

With --passphrase-env VAR the secret key is sealed with the passphrase read from the
environment variable VAR (scrypt + ChaCha20-Poly1305). Programs then load it with
load_certificate(path, passphrase=...) or by setting SECUREMQ_KEY_PASSPHRASE. The passphrase
is never taken from the command line, where other users could see it.
"""

_EPILOG = """\
exit status: 0 files written; 1 refused (files exist without --force, or an error writing);
2 bad usage (for example an unset passphrase variable).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securemq-keygen",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="base name of the certificate files")
    parser.add_argument(
        "--dir", default="keys", metavar="DIR", help="directory for the files (default: keys)"
    )
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="seal the secret key with the passphrase in environment variable VAR",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite NAME.key / NAME.key_secret if they exist"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object instead")
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add a metadata property to both files (repeatable); a ZAP handler using a key "
        "directory passes it on as ZAP metadata",
    )
    parser.add_argument(
        "--kdf-cost",
        type=int,
        default=certs.DEFAULT_KDF_COST,
        metavar="N",
        help=f"scrypt cost, log2 of N (default {certs.DEFAULT_KDF_COST}; "
        f"range {certs.MIN_KDF_COST}..{certs.MAX_KDF_COST}). Lower it only for tests",
    )
    return parser


def _fail(message: str, code: int) -> int:
    print(f"securemq-keygen: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the key generator; returns the process exit code."""
    args = _parser().parse_args(argv)
    name: str = args.name
    if not name or name.startswith(".") or "/" in name or (os.sep in name):
        return _fail(f"invalid NAME {name!r}: a plain file name is expected", 2)
    metadata: dict[str, str] = {}
    for item in args.meta:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _fail(f"--meta expects KEY=VALUE, got {item!r}", 2)
        metadata[key] = value
    if not certs.MIN_KDF_COST <= args.kdf_cost <= certs.MAX_KDF_COST:
        return _fail(
            f"--kdf-cost must be in {certs.MIN_KDF_COST}..{certs.MAX_KDF_COST}, "
            f"got {args.kdf_cost}",
            2,
        )
    passphrase: str | None = None
    if args.passphrase_env:
        passphrase = os.environ.get(args.passphrase_env)
        if not passphrase:
            return _fail(f"environment variable {args.passphrase_env} is unset or empty", 2)

    directory: str = args.dir
    public_file = os.path.join(directory, f"{name}.key")
    secret_file = os.path.join(directory, f"{name}.key_secret")
    if not args.force:
        for path in (public_file, secret_file):
            if os.path.lexists(path):
                return _fail(f"{path} already exists; use --force to overwrite it", 1)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
            os.chmod(directory, 0o700)
        public_file, secret_file = certs.create_certificates(
            directory, name, metadata, passphrase=passphrase, kdf_cost=args.kdf_cost
        )
        public_key, _ = certs.load_certificate(public_file)
    except (OSError, ValueError) as exc:
        return _fail(str(exc), 1)

    if args.json:
        record = {
            "name": name,
            "public_key": public_key.decode("ascii"),
            "public_file": public_file,
            "secret_file": secret_file,
            "encrypted": passphrase is not None,
        }
        print(json.dumps(record))
    else:
        print("== CURVE PUBLIC KEY ==")
        print(public_key.decode("ascii"))
        print(f"== public certificate: {public_file}")
        sealed = " (sealed with a passphrase)" if passphrase is not None else ""
        print(f"== secret certificate: {secret_file}{sealed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CURVE certificate files in the czmq / pyzmq ZPL format, with optional sealed secret keys.

How this works
--------------
A certificate is two text files in ZPL (ZeroMQ Property Language, the format czmq and pyzmq
write): ``NAME.key`` holds the public key (safe to hand out), ``NAME.key_secret`` holds the
public and the secret key. Both carry a ``metadata`` section and a ``curve`` section::

    metadata
        email = "ops@example.com"
    curve
        public-key = "<40 Z85 chars>"
        secret-key = "<40 Z85 chars>"          (secret file only)

securemq adds *sealed* secret keys: with a passphrase, the secret file holds
``encrypted-secret-key`` instead of ``secret-key``, sealed with ChaCha20-Poly1305 under a key
derived from the passphrase by scrypt (salt and cost parameters stored beside it, and the public
key bound in as associated data). The field name deliberately does not start with
``secret-key`` so pyzmq's loader sees "no secret key" instead of garbage. The passphrase comes
from ``passphrase=`` or the environment variable ``SECUREMQ_KEY_PASSPHRASE``.

Files are written atomically (temp file in the same directory, then ``os.replace``); the temp
file of a secret is created with mode 0600, so a secret is never world-readable, even briefly.
"""

from __future__ import annotations

import datetime
import glob
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import z85

__all__ = [
    "PASSPHRASE_ENV",
    "Certificate",
    "create_certificates",
    "load_certificate",
    "load_certificates",
    "read_certificate",
]

#: Environment variable read by ``load_certificate`` when no ``passphrase=`` is given.
PASSPHRASE_ENV = "SECUREMQ_KEY_PASSPHRASE"

#: Default scrypt cost (log2 of N). 2**17 with r=8 is ~128 MiB of memory: the current
#: OWASP recommendation. Tests pass a lower ``kdf_cost`` explicitly.
DEFAULT_KDF_COST = 17
MIN_KDF_COST = 10
MAX_KDF_COST = 18  # with r=8: 256 MiB, the most a file may make us use (below)
_SCRYPT_R = 8
_SCRYPT_P = 1
_MAX_R, _MAX_P = 16, 4
# Whatever a file declares, opening it costs at most this much memory (scrypt needs 128*r*N
# bytes) and this much work (memory times p, the number of passes): twice the default's.
_MAX_KDF_MEMORY = 256 << 20
_MAX_KDF_WORK = 256 << 20
_SALT_BYTES = 16
_NONCE_BYTES = 12
_CIPHER = "chacha20-poly1305"
_KDF = "scrypt"
_MAX_FILE_BYTES = 64 * 1024

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+")

_SECRET_BANNER = """#   ****  Generated on {now} by securemq  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.
"""

_SEALED_NOTE = """# securemq encrypted secret key
#   The secret key is sealed: scrypt(passphrase) + ChaCha20-Poly1305.
#   Load it with passphrase= or the environment variable SECUREMQ_KEY_PASSPHRASE.
"""

_PUBLIC_BANNER = """#   ****  Generated on {now} by securemq  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.
"""


@dataclass(frozen=True, repr=False)
class Certificate:
    """A parsed certificate file. Keys are Z85 bytes (like pyzmq); secret is None if absent.

    Its ``repr`` shows the public key and ``<redacted>`` for a secret key, never the secret.
    """

    path: str
    public_key: bytes
    secret_key: bytes | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    encrypted: bool = False

    def __repr__(self) -> str:
        secret = "None" if self.secret_key is None else "<redacted>"
        return (
            f"Certificate(path={self.path!r}, public_key={self.public_key!r}, "
            f"secret_key={secret}, metadata={self.metadata!r}, encrypted={self.encrypted})"
        )


# ---------------------------------------------------------------------------------------------
# writing


def _check_metadata(metadata: Mapping[str, str | bytes] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        name = key.decode("utf-8") if isinstance(key, bytes) else str(key)
        text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        if not 0 < len(name) < 256 or not set(name) <= _NAME_CHARS:
            raise ValueError(f"certs: invalid metadata name {name!r} (use A-Z a-z 0-9 - _ . +)")
        if any(ch in text for ch in '"\r\n\0'):
            raise ValueError(f"certs: metadata value for {name!r} contains a quote or newline")
        out[name] = text
    return out


def _render(banner: str, fields: list[tuple[str, str]], metadata: dict[str, str]) -> str:
    lines = [banner.rstrip("\n"), "", "metadata"]
    lines += [f'    {name} = "{value}"' for name, value in metadata.items()]
    lines.append("curve")
    lines += [f'    {name} = "{value}"' for name, value in fields]
    return "\n".join(lines) + "\n"


def _write_atomic(path: str, text: str, mode: int) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _as_bytes(passphrase: str | bytes) -> bytes:
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)


def _derive(passphrase: bytes, salt: bytes, cost: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2**cost, r=r, p=p).derive(passphrase)


def _aad(public: str, cost: int, r: int, p: int) -> bytes:
    return f"securemq-sealed-key-v1|{public}|{_KDF}|{cost}|{r}|{p}".encode("ascii")


def _seal(secret: bytes, public: bytes, passphrase: bytes, cost: int) -> list[tuple[str, str]]:
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    salt = secrets.token_bytes(_SALT_BYTES)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    key = _derive(passphrase, salt, cost, _SCRYPT_R, _SCRYPT_P)
    pub = public.decode("ascii")
    sealed = ChaCha20Poly1305(key).encrypt(
        nonce, z85.decode(secret), _aad(pub, cost, _SCRYPT_R, _SCRYPT_P)
    )
    return [
        ("public-key", pub),
        ("encrypted-secret-key", z85.encode(sealed).decode("ascii")),
        ("cipher", _CIPHER),
        ("kdf", _KDF),
        ("kdf-log2-n", str(cost)),
        ("kdf-r", str(_SCRYPT_R)),
        ("kdf-p", str(_SCRYPT_P)),
        ("salt", z85.encode(salt).decode("ascii")),
        ("nonce", z85.encode(nonce).decode("ascii")),
    ]


def create_certificates(
    key_dir: str | os.PathLike[str],
    name: str,
    metadata: Mapping[str, str | bytes] | None = None,
    *,
    passphrase: str | bytes | None = None,
    kdf_cost: int = DEFAULT_KDF_COST,
) -> tuple[str, str]:
    """Create a new key pair as ``key_dir/name.key`` and ``key_dir/name.key_secret``.

    Returns ``(public_file, secret_file)`` like pyzmq. With ``passphrase`` the secret key is
    sealed (scrypt with N = 2**kdf_cost, r=8, p=1, then ChaCha20-Poly1305). Existing files are
    replaced (as pyzmq does); the secret file is mode 0600, the public one 0644.
    """
    if not name or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"certs: invalid certificate name {name!r}")
    if not MIN_KDF_COST <= kdf_cost <= MAX_KDF_COST:
        raise ValueError(f"certs: kdf_cost must be in {MIN_KDF_COST}..{MAX_KDF_COST}")
    meta = _check_metadata(metadata)
    public, secret = z85.curve_keypair()
    base = os.path.join(os.fspath(key_dir), name)
    public_file, secret_file = f"{base}.key", f"{base}.key_secret"
    now = datetime.datetime.now().isoformat(sep=" ", timespec="seconds")

    if passphrase is None:
        fields = [("public-key", public.decode("ascii")), ("secret-key", secret.decode("ascii"))]
        banner = _SECRET_BANNER.format(now=now)
    else:
        raw = _as_bytes(passphrase)
        if not raw:
            raise ValueError("certs: the passphrase is empty")
        fields = _seal(secret, public, raw, kdf_cost)
        banner = _SECRET_BANNER.format(now=now) + _SEALED_NOTE
    _write_atomic(secret_file, _render(banner, fields, meta), 0o600)
    _write_atomic(
        public_file,
        _render(_PUBLIC_BANNER.format(now=now), [("public-key", public.decode("ascii"))], meta),
        0o644,
    )
    return public_file, secret_file


# ---------------------------------------------------------------------------------------------
# reading


def _parse_zpl(path: str, text: str) -> dict[str, dict[str, str]]:
    """Minimal ZPL: top-level section names, indented ``name = value`` properties."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[0] not in " \t":
            current = sections.setdefault(stripped, {})
            continue
        if "=" not in stripped:
            # a nested section name: flatten its properties into the current section
            continue
        key, _, value = stripped.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if current is None:
            raise ValueError(f"certs: {path} line {number}: property outside any section")
        current[key.strip()] = value
    return sections


def _z85_key(path: str, what: str, text: str) -> bytes:
    raw = text.encode("ascii", "replace")
    try:
        if len(raw) != 40 or len(z85.decode(raw)) != 32:
            raise ValueError
    except ValueError:
        raise ValueError(f"certs: {path}: {what} is not a 40-character Z85 key") from None
    return raw


def _int_field(path: str, curve: Mapping[str, str], name: str, low: int, high: int) -> int:
    try:
        value = int(curve[name])
    except (KeyError, ValueError):
        raise ValueError(f"certs: {path}: sealed key field {name!r} missing or invalid") from None
    if not low <= value <= high:
        raise ValueError(f"certs: {path}: sealed key field {name!r}={value} out of {low}..{high}")
    return value


def _unseal(path: str, curve: Mapping[str, str], public: bytes, passphrase: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if curve.get("kdf") != _KDF or curve.get("cipher") != _CIPHER:
        raise ValueError(f"certs: {path}: unsupported sealed key kdf/cipher")
    cost = _int_field(path, curve, "kdf-log2-n", MIN_KDF_COST, MAX_KDF_COST)
    r = _int_field(path, curve, "kdf-r", 1, _MAX_R)
    p = _int_field(path, curve, "kdf-p", 1, _MAX_P)
    # Bound the products, not just each field, so a crafted file cannot make us allocate
    # gigabytes or spin for seconds; refused before any work is done.
    memory = 128 * r * (1 << cost)
    if memory > _MAX_KDF_MEMORY or memory * p > _MAX_KDF_WORK:
        raise ValueError(
            f"certs: {path}: sealed key KDF parameters (log2 N={cost}, r={r}, p={p}) exceed "
            f"the bound of {_MAX_KDF_MEMORY >> 20} MiB of memory and work"
        )
    try:
        salt = z85.decode(curve["salt"])
        nonce = z85.decode(curve["nonce"])
        sealed = z85.decode(curve["encrypted-secret-key"])
    except (KeyError, ValueError):
        raise ValueError(f"certs: {path}: sealed key fields missing or not Z85") from None
    if len(nonce) != _NONCE_BYTES or len(sealed) != 48 or not 8 <= len(salt) <= 64:
        raise ValueError(f"certs: {path}: sealed key fields have the wrong size")
    key = _derive(passphrase, salt, cost, r, p)
    try:
        secret = ChaCha20Poly1305(key).decrypt(
            nonce, sealed, _aad(public.decode("ascii"), cost, r, p)
        )
    except InvalidTag:
        raise ValueError(
            f"certs: {path}: wrong passphrase (or the sealed secret key was altered)"
        ) from None
    secret_z85 = z85.encode(secret)
    if z85.curve_public(secret_z85) != public:
        raise ValueError(f"certs: {path}: secret key does not match the public key")
    return secret_z85


def read_certificate(
    filename: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
    *,
    public_only: bool = False,
) -> Certificate:
    """Parse a certificate file fully (keys, metadata, whether the secret is sealed).

    A sealed secret key needs ``passphrase`` or ``$SECUREMQ_KEY_PASSPHRASE``; a missing or wrong
    one raises ``ValueError`` naming the file. With ``public_only`` any secret field is ignored:
    no key derivation, no decryption, whatever the file declares (trusted key directories).
    """
    path = os.fspath(filename)
    if not os.path.isfile(path):
        raise OSError(f"Invalid certificate file: {path}")
    with open(path, "rb") as handle:
        data = handle.read(_MAX_FILE_BYTES + 1)
    if len(data) > _MAX_FILE_BYTES:
        raise ValueError(f"certs: {path} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"certs: {path} is not UTF-8 text") from None
    sections = _parse_zpl(path, text)
    curve = sections.get("curve", {})
    if "public-key" not in curve:
        raise ValueError(f"No public key found in {path}")
    public = _z85_key(path, "public-key", curve["public-key"])
    metadata = dict(sections.get("metadata", {}))
    secret: bytes | None = None
    encrypted = "encrypted-secret-key" in curve
    if public_only:
        return Certificate(path, public, None, metadata, False)
    if encrypted:
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        if passphrase is None:
            raise ValueError(
                f"certs: {path} holds an encrypted secret key but no passphrase was given "
                f"(pass passphrase= or set {PASSPHRASE_ENV})"
            )
        secret = _unseal(path, curve, public, _as_bytes(passphrase))
    elif "secret-key" in curve:
        secret = _z85_key(path, "secret-key", curve["secret-key"])
        if z85.curve_public(secret) != public:
            raise ValueError(f"certs: {path}: secret key does not match the public key")
    return Certificate(path, public, secret, metadata, encrypted)


def load_certificate(
    filename: str | os.PathLike[str], passphrase: str | bytes | None = None
) -> tuple[bytes, bytes | None]:
    """``(public_key, secret_key_or_None)`` as Z85 bytes, pyzmq's shape."""
    cert = read_certificate(filename, passphrase)
    return cert.public_key, cert.secret_key


def load_certificates(directory: str | os.PathLike[str] = ".") -> dict[bytes, bool]:
    """Public keys of every ``*.key`` file in ``directory``: ``{z85_public_key: True}``.

    Only public keys are read: a planted file with (sealed) secret fields costs nothing.
    """
    path = os.fspath(directory)
    if not os.path.isdir(path):
        raise OSError(f"Invalid certificate directory: {path}")
    keys: dict[bytes, bool] = {}
    for cert_file in sorted(glob.glob(os.path.join(glob.escape(path), "*.key"))):
        keys[read_certificate(cert_file, public_only=True).public_key] = True
    return keys

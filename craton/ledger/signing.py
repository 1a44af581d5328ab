"""Ed25519 signatures over saved digests."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from craton.domain.errors import DomainError
from craton.ledger.digest import Digest
from craton.ledger.evidence_verify import check_signature, digest_message

__all__ = [
    "SigningKeyError",
    "generate_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_path",
    "public_key_pem",
    "sign_digest",
    "verify_digest_signature",
]


def public_key_path(private_key_path: str | os.PathLike[str]) -> Path:
    """Return where the public key of a private key file is kept."""
    path = Path(private_key_path)
    stem = path.name.removesuffix(".pem")
    return path.with_name(f"{stem}.pub.pem")


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """Return the PEM encoding of the (public half of the) key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return a short fingerprint of the public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


class SigningKeyError(DomainError):
    """A key file that cannot be used: missing, unreadable, not PEM, or not Ed25519.

    A setting the service cannot work with, not a bad request: 503 over the API.
    """

    status = 503


def _pem(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"{what} {os.fspath(path)} cannot be read: "
                              f"{exc.strerror or exc}") from None


def load_private_key(path: str | os.PathLike[str],
                     what: str = "CRATON_SIGNING_KEY") -> Ed25519PrivateKey:
    """Load an unencrypted Ed25519 private key from a PEM file; SigningKeyError (one
    line naming the file) if it cannot be.

    A process reads each key file once (a command checks the key at start, then signs
    and verifies with it): the key is kept by path and modification time, so a file
    replaced by a rotation is read again.
    """
    try:
        changed = os.stat(path).st_mtime_ns
    except OSError:
        changed = -1  # (``_pem`` says why it cannot be read)
    return _private_key(os.fspath(path), changed, what)


@functools.lru_cache(maxsize=8)
def _private_key(path: str, changed: int, what: str) -> Ed25519PrivateKey:
    data = _pem(path, what)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{what} {os.fspath(path)} is not an unencrypted Ed25519 "
                              f"private key in PEM{_why_not(data, exc)}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{what} {os.fspath(path)} does not hold an Ed25519 key")
    return key


def load_public_key(path: str | os.PathLike[str],
                    what: str = "--public-key") -> Ed25519PublicKey:
    """Load an Ed25519 public key from a PEM file (a private key's public half, given
    the private key); SigningKeyError if it cannot be."""
    data = _pem(path, what)
    if b"PRIVATE KEY-----" in data:
        return load_private_key(path, what).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise SigningKeyError(f"{what} {os.fspath(path)} is not an Ed25519 public key "
                              "in PEM") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{what} {os.fspath(path)} does not hold an Ed25519 key")
    return key


def _why_not(data: bytes, exc: Exception) -> str:
    """What else a file that is not a usable private key holds, if that is known."""
    if b"PUBLIC KEY-----" in data:
        return ": it holds a public key (digests are checked with one by --public-key)"
    if isinstance(exc, TypeError):  # cryptography's word for an encrypted key
        return ": it is encrypted"
    return ""


def generate_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Create a new key: private PEM at path (mode 0600), public PEM next to it."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    target = Path(path)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    os.chmod(target, 0o600)
    public_key_path(target).write_bytes(public_key_pem(key))
    return key


def sign_digest(digest: Digest, key: Ed25519PrivateKey) -> Digest:
    """Return the digest signed with the key."""
    message = digest_message(digest.position, digest.hash, digest.time)
    signature = base64.b64encode(key.sign(message)).decode("ascii")
    return replace(digest, signature=signature, key_id=key_id(key))


def verify_digest_signature(digest: Digest, public_key_pem: bytes | str) -> bool:
    """Tell whether the digest carries a valid signature by the key."""
    if not digest.signature:
        return False
    pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
    message = digest_message(digest.position, digest.hash, digest.time)
    return check_signature(message, digest.signature, pem)

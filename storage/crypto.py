"""Encryption of stored secrets (data source passwords, credentials, API tokens).

`SecretBox` seals a string with AES-256-GCM under a fresh random 96-bit nonce
and returns a versioned text token, ``"v1:" + base64(nonce + ciphertext)``.
GCM authenticates as well as encrypts, so a token that was altered, truncated
or sealed under another key fails to open instead of decrypting to garbage.
The version prefix lets a later format (or key rotation) coexist with v1
tokens already stored.

    SecretBoxError
    └── SecretDecryptError   a token is malformed, tampered with, or from another key
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_PREFIX = "v1:"  # noqa: S105 (a format tag, not a secret)
KEY_FILE_NAME = "encryption.key"

# Fixed salt and info: a passphrase must always derive the same key, and the
# labels keep this key distinct from anything else derived from the passphrase.
_HKDF_SALT = b"agentloom/secretbox/v1"
_HKDF_INFO = b"agentloom secret encryption key"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class SecretBoxError(Exception):
    """Root of the errors of secret encryption."""


class SecretDecryptError(SecretBoxError, ValueError):
    """The token is malformed, was tampered with, or was sealed under another key."""


class SecretBox:
    """AES-256-GCM sealing of short strings into versioned text tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretBoxError(f"encryption key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, aad: bytes = b"") -> str:
        """Seal `plaintext`; `aad` (optional) binds the token to a context, e.g. an id."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), aad or None)
        return TOKEN_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, *, aad: bytes = b"") -> str:
        """Open a token made by `encrypt`; raises `SecretDecryptError` if it does not verify."""
        if not token.startswith(TOKEN_PREFIX):
            raise SecretDecryptError("unknown secret token version")
        try:
            raw = base64.b64decode(token[len(TOKEN_PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretDecryptError("secret token is not valid base64") from exc
        # 16 bytes is the GCM tag: anything shorter cannot be a token.
        if len(raw) < NONCE_BYTES + 16:
            raise SecretDecryptError("secret token is truncated")
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad or None)
        except InvalidTag as exc:
            raise SecretDecryptError("secret token failed authentication") from exc
        return plain.decode("utf-8")

    @staticmethod
    def is_token(value: str) -> bool:
        """Whether `value` looks like a token of this box (not a proof it opens)."""
        return value.startswith(TOKEN_PREFIX)


def key_from_setting(value: str) -> bytes:
    """Turn the operator's key setting into 32 key bytes.

    Accepted: 64 hex digits, or base64 (standard or URL-safe) of exactly 32
    bytes; anything else is taken as a passphrase and stretched with
    HKDF-SHA256. HKDF does not slow down guessing, so a passphrase must be
    long and random (e.g. `openssl rand -base64 32`), not a memorable word.
    """
    text = value.strip()
    if not text:
        raise SecretBoxError("the encryption key setting is empty")
    # Hex first: 64 hex digits are also valid base64 (of 48 bytes).
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    raw = _b64_or_none(text)
    if raw is not None and len(raw) == KEY_BYTES:
        return raw
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(text.encode("utf-8"))


def _b64_or_none(text: str) -> bytes | None:
    """Decode standard or URL-safe base64; None if `text` is neither."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    altchars = b"-_" if (b"-" in data or b"_" in data) else None
    try:
        return base64.b64decode(data, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None


def load_or_create_key(data_dir: Path, env_value: str | None) -> bytes:
    """The key from the setting if given, else `data_dir/encryption.key` (created if absent).

    The file is created with O_EXCL and mode 0600, so two processes starting
    at once cannot each write a different key, and other users cannot read it.
    Losing the file makes every stored secret unreadable: back it up.
    """
    if env_value is not None and env_value.strip():
        return key_from_setting(env_value)
    path = Path(data_dir) / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    key = os.urandom(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _read_key_file(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretBoxError(f"{path} does not hold a base64 key") from exc
    if len(key) != KEY_BYTES:
        raise SecretBoxError(f"{path} holds a {len(key)}-byte key, expected {KEY_BYTES}")
    return key

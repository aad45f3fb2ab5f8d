"""SecretBox: AES-GCM round trip, tamper detection, key setting and key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from storage.crypto import (
    KEY_FILE_NAME,
    SecretBox,
    SecretBoxError,
    SecretDecryptError,
    key_from_setting,
    load_or_create_key,
)


def _box() -> SecretBox:
    return SecretBox(os.urandom(32))


@pytest.mark.parametrize("plain", ["", "s3cret", "пароль 密码 🔑", "x" * 10_000])
def test_round_trip(plain: str) -> None:
    box = _box()
    token = box.encrypt(plain)
    assert token.startswith("v1:")
    assert plain == box.decrypt(token)
    if plain:
        assert plain not in token


def test_nonce_is_fresh_each_time() -> None:
    box = _box()
    assert box.encrypt("same") != box.encrypt("same")


def test_tampered_token_is_refused() -> None:
    box = _box()
    raw = bytearray(base64.b64decode(box.encrypt("hello world")[3:]))
    for index in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        forged = bytearray(raw)
        forged[index] ^= 0x01
        with pytest.raises(SecretDecryptError):
            box.decrypt("v1:" + base64.b64encode(bytes(forged)).decode())


@pytest.mark.parametrize("token", ["", "v2:AAAA", "v1:not base64!", "v1:AAAA", "plain"])
def test_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(SecretDecryptError):
        _box().decrypt(token)


def test_other_key_cannot_open() -> None:
    token = _box().encrypt("hello")
    with pytest.raises(SecretDecryptError):
        _box().decrypt(token)


def test_aad_binds_token_to_context() -> None:
    box = _box()
    token = box.encrypt("hello", aad=b"datasource:1")
    assert box.decrypt(token, aad=b"datasource:1") == "hello"
    with pytest.raises(SecretDecryptError):
        box.decrypt(token, aad=b"datasource:2")


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(SecretBoxError):
        SecretBox(b"short")


def test_key_setting_forms() -> None:
    key = os.urandom(32)
    assert key_from_setting(key.hex()) == key
    assert key_from_setting(base64.b64encode(key).decode()) == key
    assert key_from_setting(base64.urlsafe_b64encode(key).decode()) == key
    derived = key_from_setting("correct horse battery staple")
    assert len(derived) == 32
    assert derived == key_from_setting("correct horse battery staple")
    assert derived != key_from_setting("correct horse battery stapler")
    with pytest.raises(SecretBoxError):
        key_from_setting("   ")


def test_key_file_created_0600_and_persisted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_or_create_key(data_dir, None)
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(data_dir, None) == first
    assert load_or_create_key(data_dir, "") == first
    token = SecretBox(first).encrypt("survives a restart")
    assert SecretBox(load_or_create_key(data_dir, None)).decrypt(token) == "survives a restart"


def test_env_value_wins_over_file(tmp_path: Path) -> None:
    file_key = load_or_create_key(tmp_path, None)
    env_key = os.urandom(32)
    assert load_or_create_key(tmp_path, env_key.hex()) == env_key != file_key


def test_corrupt_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("dG9vIHNob3J0\n")
    with pytest.raises(SecretBoxError):
        load_or_create_key(tmp_path, None)

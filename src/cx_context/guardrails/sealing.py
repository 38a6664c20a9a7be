"""Sealing identifiers at rest: encryption for reading back, keyed hashes for lookup.

Customer identifiers (emails, phone numbers, names, dates of birth) are kept
in the record store only sealed: the value encrypted with the vault key, and a
keyed hash (a "blind index") of its normalized form, so an exact lookup needs
no decryption and the database alone reveals neither.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cx_context.guardrails.errors import VaultKeyError


def new_key() -> str:
    """A fresh vault key, as text to put in CX_VAULT_KEY."""
    return Fernet.generate_key().decode("ascii")


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        master
    )


class Sealer:
    """Encrypts and blind-indexes values with keys derived from one vault key."""

    def __init__(self, key: str) -> None:
        try:
            master = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise VaultKeyError(
                "the vault key is not valid: expected 32 bytes, url-safe base64 "
                "(make one with `cx-context vault new-key`)"
            ) from exc
        if len(master) != 32:
            raise VaultKeyError(
                f"the vault key is not valid: expected 32 bytes, got {len(master)} "
                "(make one with `cx-context vault new-key`)"
            )
        self._fernet = Fernet(
            base64.urlsafe_b64encode(_derive(master, b"cx-context seal"))
        )
        self._index_key = _derive(master, b"cx-context blind index")

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise VaultKeyError(
                "a sealed value could not be opened: the vault key is not the one "
                "it was sealed with"
            ) from exc

    def blind_index(self, kind: str, normalized: str) -> str:
        """A keyed hash of a normalized value; equal values of a kind hash alike."""
        message = f"{kind}\x00{normalized}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

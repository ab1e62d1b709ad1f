"""Encryption at rest for platform credentials (access tokens, webhook secrets).

Keyed from the server's LADDER_SECRET_KEY; rotating that key needs the values
re-encrypted, so keep it stable and secret.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class VaultError(Exception):
    """A value could not be decrypted (wrong key, or tampered)."""


class Vault:
    def __init__(self, secret_key: str):
        if len(secret_key) < 32:
            raise ValueError("the secret key must be at least 32 characters")
        digest = hashlib.sha256(b"ladder-vault:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("cannot decrypt: wrong LADDER_SECRET_KEY?") from exc

"""Encryption at rest for Xero tokens: Fernet with key rotation.

TOKEN_ENCRYPTION_KEY holds one or more Fernet keys, comma-separated, newest first.
MultiFernet encrypts with the first and decrypts with any, so a key is rotated by
putting the new one first, running `manage.py rotate_token_key`, then dropping the old.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])


def fernet() -> MultiFernet:
    return _fernet(settings.TOKEN_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return fernet().decrypt(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted before it reaches the database."""

    def from_db_value(self, value, expression, connection):
        # An empty token reads back as the same "" that was saved, not None.
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt(value)

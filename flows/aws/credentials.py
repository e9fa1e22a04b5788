"""API keys: issue, revoke, look up; the secret is kept encrypted at rest.

SigV4 signs with the raw secret, so it cannot be hashed like a password. It is encrypted
with Fernet under a key derived (HKDF-SHA256) from Django's ``SECRET_KEY``: a copy of the
database alone does not give the secrets away. Changing ``SECRET_KEY`` makes every stored
secret unreadable, which shows up as ``SignatureDoesNotMatch``: issue new keys then.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

from flows.aws.models import ApiKey, ApiKeyScope
from flows.models import Topology

KEY_ID_PREFIX = "EVZK"  # AWS's long-term keys start with AKIA; ours say whose they are.
_KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _fernet() -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"eventviz api key secret"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """The raw secret, or None when it was encrypted under another SECRET_KEY."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def default_account_id(topology: Topology) -> str:
    """Every key of one topology sees the same ARNs unless told otherwise."""
    return f"{topology.pk:012d}"[-12:]


def apikey_issue(
    *,
    topology: Topology,
    user: Any = None,
    read_only: bool = False,
    account_id: str | None = None,
    description: str = "",
) -> tuple[ApiKey, str]:
    """A new key; returns it with its secret, which is not retrievable afterwards."""
    key_id = KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)  # 40 characters, like an AWS secret access key
    key = ApiKey(
        access_key_id=key_id,
        secret_encrypted=encrypt_secret(secret),
        account_id=account_id or default_account_id(topology),
        topology=topology,
        user=user if getattr(user, "is_authenticated", False) else None,
        scope=ApiKeyScope.READ_ONLY if read_only else ApiKeyScope.READ_WRITE,
        description=description,
    )
    key.full_clean(exclude=["secret_encrypted", "access_key_id"])
    key.save()
    return key, secret


def apikey_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def apikey_active(access_key_id: str) -> ApiKey | None:
    """The key with this id, unless unknown or revoked."""
    return (
        ApiKey.objects.select_related("topology", "user")
        .filter(access_key_id=access_key_id, revoked_at__isnull=True)
        .first()
    )


def apikey_mark_used(*, key: ApiKey) -> None:
    """Record use at most once a minute per key, so a busy client costs no write per call."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


def env_lines(*, endpoint_url: str, key: ApiKey, secret: str, region: str) -> list[str]:
    """What to export so an unmodified AWS SDK talks to EventViz with this key."""
    return [
        f"export AWS_ENDPOINT_URL={endpoint_url}",
        f"export AWS_ACCESS_KEY_ID={key.access_key_id}",
        f"export AWS_SECRET_ACCESS_KEY={secret}",
        f"export AWS_DEFAULT_REGION={region}",
    ]

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from api.stores import credentials
from api.stores.models import KeyKind

SECRET = "k" * 64
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "prefix"), [(KeyKind.SECRET, "sk_"), (KeyKind.PUBLISHABLE, "pk_")]
)
def test_keys_carry_their_kind_and_are_unique(kind: KeyKind, prefix: str) -> None:
    keys = {credentials.generate_key(kind) for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith(prefix) and credentials.kind_of(k) is kind for k in keys)
    # 32 random bytes, url-safe base64: 43 characters after the prefix.
    assert all(len(k) == len(prefix) + 43 for k in keys)


def test_unknown_prefix_is_no_key() -> None:
    assert credentials.kind_of("rk_abc") is None


def test_hash_is_stable_and_not_the_key() -> None:
    key = credentials.generate_key(KeyKind.SECRET)
    assert credentials.hash_key(key) == credentials.hash_key(key)
    assert key not in credentials.hash_key(key)
    assert len(credentials.hash_key(key)) == 64


def _mint(secret: str = SECRET, store_id=None, customer_id=None, ttl=3600):
    store_id = store_id or uuid4()
    customer_id = customer_id or uuid4()
    token, expires = credentials.mint_customer_token(
        secret=secret,
        store_id=store_id,
        customer_id=customer_id,
        now=NOW,
        ttl=timedelta(seconds=ttl),
    )
    return token, expires, store_id, customer_id


def test_token_round_trip() -> None:
    token, expires, store_id, customer_id = _mint()
    claims = credentials.read_customer_token(
        token, secret=SECRET, store_id=store_id, now=NOW + timedelta(seconds=10)
    )
    assert claims.customer_id == customer_id
    assert claims.store_id == store_id
    assert claims.expires_at == expires == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("_case", "secret", "other_store", "later"),
    [
        ("wrong secret", "y" * 64, False, 0),
        ("other store", SECRET, True, 0),
        ("expired", SECRET, False, 3600),
        ("long expired", SECRET, False, 86400),
    ],
)
def test_token_rejected(_case: str, secret: str, other_store: bool, later: int) -> None:
    token, _, store_id, _ = _mint()
    with pytest.raises(credentials.InvalidTokenError):
        credentials.read_customer_token(
            token,
            secret=secret,
            store_id=uuid4() if other_store else store_id,
            now=NOW + timedelta(seconds=later),
        )


def test_unsigned_and_garbage_tokens_rejected() -> None:
    store_id = uuid4()
    unsigned = jwt.encode(
        {
            "iss": str(store_id),
            "sub": str(uuid4()),
            "aud": credentials.TOKEN_AUDIENCE,
            "exp": int((NOW + timedelta(hours=1)).timestamp()),
        },
        key=None,  # type: ignore[arg-type]
        algorithm="none",
    )
    for token in (unsigned, "garbage", "", "a.b.c"):
        with pytest.raises(credentials.InvalidTokenError):
            credentials.read_customer_token(
                token, secret=SECRET, store_id=store_id, now=NOW
            )

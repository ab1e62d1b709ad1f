"""API keys and customer tokens: generation, hashing and verification (no I/O)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt
from cachetools import LRUCache

from api.stores.models import KeyKind

KEY_PREFIXES = {KeyKind.SECRET: "sk_", KeyKind.PUBLISHABLE: "pk_"}
# 32 random bytes (256 bits), url-safe: far beyond brute force.
KEY_RANDOM_BYTES = 32
DISPLAY_PREFIX_CHARS = 12

TOKEN_AUDIENCE = "ladder:customer"
TOKEN_ALGORITHM = "HS256"


def generate_key(kind: KeyKind) -> str:
    return KEY_PREFIXES[kind] + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def hash_key(key: str) -> str:
    # Keys carry 256 bits of entropy, so a fast hash is enough (as GitHub and
    # Stripe do); a slow password hash would only slow every request down.
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_CHARS]


def kind_of(key: str) -> KeyKind | None:
    """The kind a key claims by its prefix, or None when it is no Ladder key."""
    for kind, prefix in KEY_PREFIXES.items():
        if key.startswith(prefix):
            return kind
    return None


def generate_token_secret() -> str:
    return secrets.token_urlsafe(48)


@dataclass(frozen=True)
class CustomerClaims:
    store_id: UUID
    customer_id: UUID
    expires_at: datetime


class InvalidTokenError(Exception):
    """The customer token is malformed, forged, expired or for another store."""


def mint_customer_token(
    *,
    secret: str,
    store_id: UUID,
    customer_id: UUID,
    now: datetime,
    ttl: timedelta,
) -> tuple[str, datetime]:
    """A signed, expiring token that identifies one shopper of one store."""
    expires_at = now + ttl
    claims = {
        "iss": str(store_id),
        "sub": str(customer_id),
        "aud": TOKEN_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM), expires_at


# Tokens whose signature, audience and issuer were verified, with what they
# say: a storefront sends the same token on every page view, and PyJWT spends
# about 0.1 ms on each check. Keyed by the secret too, so replacing a store's
# secret (revoking its tokens) is never answered from here. Expiry is checked
# every time.
_verified: LRUCache[tuple[str, str, UUID], tuple[UUID, datetime]] = LRUCache(
    maxsize=10_000
)


def claimed_customer(token: str) -> UUID | None:
    """The shopper a token names, NOT verified: only a hint, so that reads
    about them can go with the API-key lookup. The token is verified after;
    whatever was read for another shopper is then dropped."""
    if token in _claimed:
        return _claimed[token]
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        claimed: UUID | None = UUID(str(claims["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        claimed = None
    _claimed[token] = claimed
    return claimed


# A storefront sends the same token on every page view (PyJWT: about 20 µs).
_claimed: LRUCache[str, UUID | None] = LRUCache(maxsize=10_000)


def read_customer_token(
    token: str, *, secret: str, store_id: UUID, now: datetime
) -> CustomerClaims:
    """Verify signature, audience, issuer and expiry; return who the shopper is."""
    known = _verified.get((token, secret, store_id))
    if known is None:
        known = _verify(token, secret=secret, store_id=store_id)
        _verified[(token, secret, store_id)] = known
    customer_id, expires_at = known
    # Expiry is checked against our clock (not PyJWT's) so tests can pin time.
    if expires_at <= now:
        raise InvalidTokenError("expired customer token")
    return CustomerClaims(
        store_id=store_id, customer_id=customer_id, expires_at=expires_at
    )


def _verify(token: str, *, secret: str, store_id: UUID) -> tuple[UUID, datetime]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=str(store_id),
            options={"require": ["exp", "iss", "sub", "aud"], "verify_exp": False},
        )
        expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        customer_id = UUID(str(claims["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidTokenError("invalid customer token") from exc
    return customer_id, expires_at

"""Shopify signatures: webhook HMAC, OAuth query-string HMAC, shop domains.

Pure functions over bytes and strings; no I/O. Sources are in
`../shared/research/platforms.md` §1 (webhooks) and §3 (OAuth).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence

_SHA256_BYTES = 32

# Anchored on both ends (fullmatch), ASCII only: Shopify's "weak shop validation"
# security check flags anything looser and recommends exactly this pattern.
# [doc] shopify.dev/docs/apps/build/security/app-security-checks/weak-shop-validation
_SHOP_DOMAIN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")

# Parameters that carry the signature itself and are left out of the message.
_SIGNATURE_PARAMS = frozenset({"hmac", "signature"})


def _usable(secrets: Sequence[str]) -> list[bytes]:
    # A bare string is a Sequence[str] too: iterating it would try each character
    # as a secret, so refuse it outright rather than verify against "a", "b", ...
    if isinstance(secrets, str | bytes):
        raise TypeError("secrets must be a sequence of secrets, not one string")
    # An empty or unconfigured secret never verifies (conventions §7.6).
    return [secret.encode() for secret in secrets if secret]


def webhook_hmac(raw_body: bytes, secret: str) -> str:
    """The `X-Shopify-Hmac-Sha256` value Shopify would send for this body."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(
    raw_body: bytes, hmac_header: str | None, secrets: Sequence[str]
) -> bool:
    """Whether `X-Shopify-Hmac-Sha256` signs these exact bytes with one of `secrets`.

    Base64 HMAC-SHA256 of the raw request body, keyed with the app's client
    secret, compared in constant time. Pass the current secret and, during a
    rotation, the previous one: Shopify can take up to an hour to switch.
    [doc] shopify.dev/docs/apps/build/webhooks/verify-deliveries
    """
    keys = _usable(secrets)
    if not keys or not hmac_header:
        return False
    try:
        given = base64.b64decode(hmac_header.strip().encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    # A hex digest is valid base64 alphabet but decodes to 48 bytes: refuse it
    # here rather than rely on the comparison.
    if len(given) != _SHA256_BYTES:
        return False
    verified = False
    for key in keys:  # no early exit: every secret costs the same
        expected = hmac.new(key, raw_body, hashlib.sha256).digest()
        verified |= hmac.compare_digest(expected, given)
    return verified


def _escape_key(key: str) -> str:
    return key.replace("%", "%25").replace("=", "%3D").replace("&", "%26")


def _escape_value(value: str) -> str:
    return value.replace("%", "%25").replace("&", "%26")


def query_message(params: Mapping[str, str | Sequence[str]]) -> str:
    """The string Shopify signs for a query: sorted `key=value` pairs joined by `&`.

    `hmac` and `signature` are left out; `%`, `&` (and `=` in keys) are escaped
    so a value cannot forge another pair; a list parameter `ids[]` becomes
    `ids=["1", "2"]`. [code] Shopify/shopify_python_api `shopify/session.py`
    `__encoded_params_for_signature`; shopify-app-js `lib/utils/hmac-validator.ts`.
    """
    pairs = []
    for key, value in params.items():
        if key in _SIGNATURE_PARAMS:
            continue
        if isinstance(value, str):
            text = value
        else:
            key = key.removesuffix("[]")
            text = json.dumps([str(item) for item in value])
        pairs.append(f"{_escape_key(key)}={_escape_value(text)}")
    return "&".join(sorted(pairs))


def sign_query(params: Mapping[str, str | Sequence[str]], secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of `query_message(params)` (the `hmac` parameter)."""
    message = query_message(params).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_query_hmac(params: Mapping[str, str | Sequence[str]], secret: str) -> bool:
    """Whether the `hmac` query parameter signs the other parameters.

    Used on the install request, the OAuth callback and app-proxy requests.
    Checking `timestamp` freshness and `state` is the caller's job.
    [doc] shopify.dev authorization-code-grant; platforms.md §3.
    """
    given = params.get("hmac")
    if not secret or not isinstance(given, str) or not given:
        return False
    expected = sign_query(params, secret)
    try:
        return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
    except UnicodeEncodeError:
        return False


def is_valid_shop_domain(shop: str) -> bool:
    """`name.myshopify.com` and nothing else (no scheme, path, port or suffix)."""
    return isinstance(shop, str) and _SHOP_DOMAIN.fullmatch(shop) is not None

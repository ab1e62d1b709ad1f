"""WooCommerce webhook signatures and the unsigned creation ping.

Pure functions over bytes and strings; no I/O. Sources are in
`../shared/research/platforms.md` §7 (WooCommerce webhooks).
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string

_SHA256_BYTES = 32

# The ping is a form post of one field: `webhook_id=<id>` (platforms.md §7
# "Ping", [code] `WC_Webhook::deliver_ping()`). Anchored on both ends; ids are
# WordPress post ids, so a handful of digits (20 bounds any 64-bit id).
_PING = re.compile(rb"webhook_id=([0-9]{1,20})")
_FORM = "application/x-www-form-urlencoded"

# WooCommerce HTML-entity-decodes the stored secret before signing
# (`wp_specialchars_decode(secret, ENT_QUOTES)`), so a secret with `&` or quotes
# can sign differently on each side: ours use letters and digits only
# (platforms.md §7 "Signature").
_SECRET_ALPHABET = string.ascii_letters + string.digits


def sign(raw_body: bytes, secret: str) -> str:
    """The `X-WC-Webhook-Signature` value WooCommerce would send for this body.

    `base64_encode(hash_hmac('sha256', body, secret, true))`.
    [code] `WC_Webhook::generate_signature`.
    """
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    """Whether `X-WC-Webhook-Signature` signs these exact bytes with `secret`.

    Base64 HMAC-SHA256 of the raw request body, keyed with the webhook's own
    secret, compared in constant time. An empty or unconfigured secret never
    verifies, and neither does a missing header (the creation ping has none:
    it is recognised by `is_ping`, never verified).
    """
    if not secret or not signature_header:
        return False
    try:
        given = base64.b64decode(
            signature_header.strip().encode("ascii"), validate=True
        )
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return False
    # A hex digest is valid base64 alphabet but decodes to 48 bytes.
    if len(given) != _SHA256_BYTES:
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


def is_ping(content_type: str | None, raw_body: bytes) -> int | None:
    """The webhook id of WooCommerce's creation ping, else None.

    When a webhook is created (REST) or first activated (admin), WooCommerce
    POSTs the form body `webhook_id=<id>`, with no `X-WC-Webhook-*` header and no
    signature, and expects exactly 200 ([code] `WC_Webhook::deliver_ping()`).
    It is answered 200 and nothing else happens, which is why it needs no
    signature: a forged ping changes nothing. A JSON delivery is never a ping,
    whatever its bytes, and a ping body is never signed data for the inbox.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in ("", _FORM):
        return None
    match = _PING.fullmatch(raw_body)
    if match is None:
        return None
    webhook_id = int(match.group(1))
    return webhook_id if webhook_id > 0 else None


def new_webhook_secret(length: int = 40) -> str:
    """A per-store webhook secret, letters and digits only (see above)."""
    if length < 32:
        raise ValueError("a webhook secret needs at least 32 characters")
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))

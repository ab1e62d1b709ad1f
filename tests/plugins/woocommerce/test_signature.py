"""WooCommerce signatures: webhook HMAC over raw bytes, and the unsigned ping."""

import base64
import hashlib
import hmac
import json
import string

import pytest

from plugins.woocommerce.signature import (
    is_ping,
    new_webhook_secret,
    sign,
    verify_webhook,
)

SECRET = "Ldr7Qm2vX9kPz4TbN8wRc3HyJ6sFa1Ge"
BODY = b'{"id":1101,"status":"processing","currency":"USD","total":"94.05"}'
FORM = "application/x-www-form-urlencoded"


def _sign(body: bytes, secret: str) -> str:
    """Independent of the code under test: what WooCommerce puts in the header.

    base64_encode(hash_hmac('sha256', $payload, $secret, true)).
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_helper_signs_like_woocommerce() -> None:
    assert sign(BODY, SECRET) == _sign(BODY, SECRET)


def test_good_signature_verifies() -> None:
    assert verify_webhook(BODY, _sign(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    ("body", "header"),
    [
        pytest.param(BODY, _sign(b"{}", SECRET), id="signature-of-another-body"),
        pytest.param(
            BODY.replace(b"94.05", b"94.06"),
            _sign(BODY, SECRET),
            id="one-byte-tampered",
        ),
        pytest.param(BODY + b"\n", _sign(BODY, SECRET), id="trailing-newline-added"),
        pytest.param(
            json.dumps(json.loads(BODY)).encode(),
            _sign(BODY, SECRET),
            id="re-serialized-json",
        ),
        pytest.param(BODY, _sign(BODY, "another-stores-secret"), id="other-secret"),
        pytest.param(BODY, "", id="empty-header"),
        pytest.param(BODY, None, id="missing-header"),
        pytest.param(BODY, "not base64 at all!", id="non-base64"),
        pytest.param(BODY, _sign(BODY, SECRET)[:-4], id="truncated"),
        pytest.param(
            BODY,
            hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(),
            id="hex-instead-of-base64",
        ),
        pytest.param(
            BODY,
            base64.b64encode(
                hmac.new(SECRET.encode(), BODY, hashlib.sha1).digest()
            ).decode(),
            id="sha1-digest",
        ),
        pytest.param(BODY, "é" + _sign(BODY, SECRET), id="non-ascii"),
    ],
)
def test_bad_signatures_do_not_verify(body: bytes, header: str | None) -> None:
    assert not verify_webhook(body, header, SECRET)


def test_re_serialized_json_is_the_same_data_yet_refused() -> None:
    reserialized = json.dumps(json.loads(BODY), indent=2).encode()
    assert json.loads(reserialized) == json.loads(BODY)
    assert not verify_webhook(reserialized, _sign(BODY, SECRET), SECRET)


def test_an_empty_secret_never_verifies() -> None:
    # Even a body "signed" with the empty key is refused.
    assert not verify_webhook(BODY, _sign(BODY, ""), "")
    assert not verify_webhook(b"", _sign(b"", ""), "")


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_webhook(BODY, f" {_sign(BODY, SECRET)}\n", SECRET)


def test_an_empty_body_can_be_signed_but_only_with_the_secret() -> None:
    assert verify_webhook(b"", _sign(b"", SECRET), SECRET)
    assert not verify_webhook(b"", _sign(b"", "other"), SECRET)


# --- the creation ping -----------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        FORM,
        f"{FORM}; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
        None,
        "",
    ],
)
def test_the_creation_ping_is_recognised(content_type: str | None) -> None:
    assert is_ping(content_type, b"webhook_id=142") == 142


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json", b"webhook_id=142", id="json-content-type"),
        pytest.param(FORM, b'{"webhook_id":142}', id="json-body"),
        pytest.param(FORM, b"webhook_id=", id="no-id"),
        pytest.param(FORM, b"webhook_id=0", id="zero"),
        pytest.param(FORM, b"webhook_id=-1", id="negative"),
        pytest.param(FORM, b"webhook_id=14a", id="not-digits"),
        pytest.param(FORM, b"webhook_id=142&status=active", id="another-field"),
        pytest.param(FORM, b"id=142", id="another-name"),
        pytest.param(FORM, b" webhook_id=142", id="leading-space"),
        pytest.param(FORM, b"webhook_id=142\n", id="trailing-newline"),
        pytest.param(FORM, "webhook_id=١٤٢".encode(), id="non-ascii-digits"),
        pytest.param(FORM, b"webhook_id=" + b"9" * 21, id="absurdly-long"),
        pytest.param(FORM, b"", id="empty"),
        pytest.param("text/plain", b"webhook_id=142", id="other-media-type"),
    ],
)
def test_anything_else_is_not_a_ping(content_type: str | None, body: bytes) -> None:
    assert is_ping(content_type, body) is None


def test_a_ping_is_never_signed_data() -> None:
    # It arrives without X-WC-Webhook-Signature: recognised, answered 200, and
    # never passed off as a verified delivery.
    ping = b"webhook_id=142"
    assert is_ping(FORM, ping) == 142
    assert not verify_webhook(ping, None, SECRET)
    assert not verify_webhook(ping, "", SECRET)


def test_a_signed_delivery_is_never_a_ping() -> None:
    assert verify_webhook(BODY, _sign(BODY, SECRET), SECRET)
    assert is_ping("application/json", BODY) is None
    assert is_ping(None, BODY) is None


# --- secrets we create -----------------------------------------------------------


def test_new_secrets_are_letters_and_digits_only() -> None:
    # WooCommerce entity-decodes the stored secret before signing, so `&` or
    # quotes could make the two sides disagree (platforms.md §7).
    secrets = {new_webhook_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert len(secret) == 40
        assert set(secret) <= set(string.ascii_letters + string.digits)
        assert verify_webhook(BODY, _sign(BODY, secret), secret)
    assert len(new_webhook_secret(64)) == 64


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        new_webhook_secret(16)

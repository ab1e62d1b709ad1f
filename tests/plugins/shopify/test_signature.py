"""Shopify signatures: webhook HMAC over raw bytes, OAuth query HMAC, shop domains."""

import base64
import hashlib
import hmac
import json

import pytest

from plugins.shopify.signature import (
    is_valid_shop_domain,
    query_message,
    sign_query,
    verify_query_hmac,
    verify_webhook,
    webhook_hmac,
)

SECRET = "shpss_current_0123456789abcdef"
PREVIOUS = "shpss_previous_fedcba9876543210"
BODY = b'{"id":5501000000000000101,"name":"#1001","total_price":"93.90"}'


def _sign(body: bytes, secret: str) -> str:
    """Independent of the code under test: what Shopify puts in the header."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_helper_signs_like_shopify() -> None:
    assert webhook_hmac(BODY, SECRET) == _sign(BODY, SECRET)


def test_good_signature_verifies() -> None:
    assert verify_webhook(BODY, _sign(BODY, SECRET), [SECRET])


def test_previous_secret_is_accepted_during_rotation() -> None:
    header = _sign(BODY, PREVIOUS)
    assert verify_webhook(BODY, header, [SECRET, PREVIOUS])
    assert verify_webhook(BODY, header, (PREVIOUS, SECRET))
    assert not verify_webhook(BODY, header, [SECRET])


@pytest.mark.parametrize(
    ("body", "header"),
    [
        pytest.param(BODY, _sign(b"{}", SECRET), id="signature-of-another-body"),
        pytest.param(
            BODY.replace(b"93.90", b"93.91"),
            _sign(BODY, SECRET),
            id="one-byte-tampered",
        ),
        pytest.param(BODY + b"\n", _sign(BODY, SECRET), id="trailing-newline-added"),
        pytest.param(
            json.dumps(json.loads(BODY)).encode(),
            _sign(BODY, SECRET),
            id="re-serialized-json",
        ),
        pytest.param(BODY, _sign(BODY, "another-apps-secret"), id="other-secret"),
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
    assert not verify_webhook(body, header, [SECRET, PREVIOUS])


def test_re_serialized_json_is_the_same_data_yet_refused() -> None:
    reserialized = json.dumps(json.loads(BODY), indent=2).encode()
    assert json.loads(reserialized) == json.loads(BODY)
    assert not verify_webhook(reserialized, _sign(BODY, SECRET), [SECRET])


@pytest.mark.parametrize(
    "secrets", [[], [""], ["", ""]], ids=["none", "empty", "empties"]
)
def test_empty_or_missing_secrets_never_verify(secrets: list[str]) -> None:
    # Even a body "signed" with the empty key is refused.
    assert not verify_webhook(BODY, _sign(BODY, ""), secrets)


def test_an_empty_secret_next_to_a_real_one_is_ignored() -> None:
    assert verify_webhook(BODY, _sign(BODY, SECRET), ["", SECRET])
    assert not verify_webhook(BODY, _sign(BODY, ""), ["", SECRET])


def test_a_single_string_is_refused_as_a_list_of_secrets() -> None:
    # A str is a Sequence[str]: iterating it would try each character as a key.
    with pytest.raises(TypeError):
        verify_webhook(BODY, _sign(BODY, "s"), "s")


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_webhook(BODY, f" {_sign(BODY, SECRET)} ", [SECRET])


# --- OAuth query-string HMAC ---------------------------------------------------

# Shopify's documentation example, as used by shopify_python_api
# test/session_test.py::test_hmac_validation (platforms.md §3).
VECTOR_SECRET = "hush"
VECTOR_PARAMS = {
    "shop": "some-shop.myshopify.com",
    "code": "a94a110d86d2452eb3e2af4cfb8a3828",
    "timestamp": "1337178173",
    "hmac": "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2",
}
VECTOR_MESSAGE = (
    "code=a94a110d86d2452eb3e2af4cfb8a3828"
    "&shop=some-shop.myshopify.com&timestamp=1337178173"
)


def test_query_hmac_documented_test_vector() -> None:
    assert query_message(VECTOR_PARAMS) == VECTOR_MESSAGE
    assert sign_query(VECTOR_PARAMS, VECTOR_SECRET) == VECTOR_PARAMS["hmac"]
    assert verify_query_hmac(VECTOR_PARAMS, VECTOR_SECRET)


def test_query_hmac_ignores_the_signature_parameter_and_hex_case() -> None:
    params = {**VECTOR_PARAMS, "signature": "anything"}
    assert verify_query_hmac(params, VECTOR_SECRET)
    upper = {**VECTOR_PARAMS, "hmac": VECTOR_PARAMS["hmac"].upper()}
    assert verify_query_hmac(upper, VECTOR_SECRET)


@pytest.mark.parametrize(
    ("params", "secret"),
    [
        pytest.param(
            {**VECTOR_PARAMS, "shop": "evil.myshopify.com"}, "hush", id="tampered"
        ),
        pytest.param({**VECTOR_PARAMS, "host": "YWRtaW4"}, "hush", id="added-param"),
        pytest.param(
            {k: v for k, v in VECTOR_PARAMS.items() if k != "timestamp"},
            "hush",
            id="removed-param",
        ),
        pytest.param(VECTOR_PARAMS, "other", id="other-secret"),
        pytest.param(VECTOR_PARAMS, "", id="empty-secret"),
        pytest.param(
            {k: v for k, v in VECTOR_PARAMS.items() if k != "hmac"},
            "hush",
            id="no-hmac",
        ),
        pytest.param({**VECTOR_PARAMS, "hmac": ""}, "hush", id="empty-hmac"),
        pytest.param({**VECTOR_PARAMS, "hmac": "zz"}, "hush", id="garbage-hmac"),
        pytest.param({**VECTOR_PARAMS, "hmac": "é"}, "hush", id="non-ascii-hmac"),
    ],
)
def test_query_hmac_refuses(params: dict[str, str], secret: str) -> None:
    assert not verify_query_hmac(params, secret)


def test_query_delimiters_are_escaped_so_pairs_cannot_be_forged() -> None:
    one = {"a": "1&b=2"}
    two = {"a": "1", "b": "2"}
    assert query_message(one) == "a=1%26b=2"
    assert query_message(two) == "a=1&b=2"
    assert sign_query(one, SECRET) != sign_query(two, SECRET)
    assert query_message({"k=v": "%"}) == "k%3Dv=%25"


def test_query_list_parameters_sign_as_a_json_list() -> None:
    params = {"ids[]": ["1", "2"], "shop": "a.myshopify.com"}
    assert query_message(params) == 'ids=["1", "2"]&shop=a.myshopify.com'
    signed = {**params, "hmac": sign_query(params, SECRET)}
    assert verify_query_hmac(signed, SECRET)


def test_sign_query_builds_a_verifiable_redirect() -> None:
    params = {"shop": "ladder-demo.myshopify.com", "timestamp": "1767225600"}
    assert verify_query_hmac({**params, "hmac": sign_query(params, SECRET)}, SECRET)


# --- shop domains --------------------------------------------------------------


@pytest.mark.parametrize(
    "shop",
    [
        "ladder-demo.myshopify.com",
        "a.myshopify.com",
        "Shop123.myshopify.com",
        "9-x.myshopify.com",
    ],
)
def test_valid_shop_domains(shop: str) -> None:
    assert is_valid_shop_domain(shop)


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com#.myshopify.com",
        "x.myshopify.com.evil.com",
        "evil.com/x.myshopify.com",
        "evil.com?.myshopify.com",
        "x@evil.com.myshopify.com",
        "https://x.myshopify.com",
        "x.myshopify.com/",
        "x.myshopify.com/admin",
        "x.myshopify.com:443",
        "x.myshopify.com\n",
        "\nx.myshopify.com",
        " x.myshopify.com",
        "x.y.myshopify.com",
        "-x.myshopify.com",
        "x_y.myshopify.com",
        "x.myshopify.io",
        "x.shopify.com",
        "x.MYSHOPIFY.COM",
        "xmyshopify.com",
        "myshopify.com",
        ".myshopify.com",
        "admin.shopify.com/store/x",
        "ｘ.myshopify.com",  # noqa: RUF001 - fullwidth x: a homoglyph attack
        "x.myshopify.com%00",
        "",
    ],
)
def test_invalid_shop_domains(shop: str) -> None:
    assert not is_valid_shop_domain(shop)

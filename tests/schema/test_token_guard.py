"""The fast token count in front of the parser: it must never refuse what
graphql-core's own limit would accept, and it must refuse what it would not."""

from graphql import GraphQLSyntaxError, Source, TokenKind
from graphql.language.lexer import Lexer
from hypothesis import given
from hypothesis import strategies as st

from schema import build_schema
from schema.core.limits import count_tokens, more_tokens_than
from tests.schema.operations import ALL

PIECES = st.sampled_from(
    [
        "query",
        "me",
        "_x1",
        "{",
        "}",
        "(",
        ")",
        ":",
        "$v",
        "!",
        "=",
        "@skip",
        "[",
        "]",
        "|",
        "&",
        "...",
        "...on",
        "-12",
        "3.5e+10",
        "0",
        '"a string"',
        '"with \\" quote"',
        '"has # hash"',
        '"""block "quoted" text"""',
        '"""a \\""" escaped"""',
        '# a comment with " and { }\n',
        ",",
        " ",
        "\n",
        "\t",
    ]
)


def parser_tokens(document: str) -> int:
    """Tokens as graphql-core's parser counts them for its limit (no comments)."""
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


@given(st.lists(PIECES, max_size=60).map("".join))
def test_never_counts_more_than_the_parser(document: str) -> None:
    try:
        expected = parser_tokens(document)
    except GraphQLSyntaxError:
        return  # the parser refuses it anyway
    assert count_tokens(document) <= expected


def test_counts_every_token_of_real_documents() -> None:
    # Every operation the API documents in the tests: the count is exact there.
    for operation in ALL.values():
        document = operation.document
        assert count_tokens(document) == parser_tokens(document), document


@given(st.lists(PIECES, max_size=60).map("".join), st.integers(0, 40))
def test_the_limit_check_agrees_with_the_count(document: str, limit: int) -> None:
    assert more_tokens_than(document, limit) is (count_tokens(document) > limit)


def test_counts_past_the_limit() -> None:
    document = "{ " + " ".join("__typename" for _ in range(2100)) + " }"
    assert count_tokens(document) == 2102


async def test_the_schema_refuses_long_documents_before_the_parser() -> None:
    # Only the guard sets this code; graphql-core's own limit says the same
    # words without it, so this proves the parser never saw the document.
    document = "{ " + " ".join("__typename" for _ in range(2100)) + " }"
    result = await build_schema().execute(document)
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "GRAPHQL_PARSE_FAILED"}]

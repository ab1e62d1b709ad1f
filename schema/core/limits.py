"""A cheap token count that refuses oversized documents before the parser.

graphql-core's own token limit stops the parser at the limit, but its Python
parser has by then spent ~10 µs a token: a 2,000-token document costs 10-20 ms
to refuse. A document of N characters holds at most N tokens, so documents
shorter than the limit are never counted; longer ones are counted with one
C-level regex pass. The count never exceeds graphql-core's (commas, comments
and whitespace are not counted, a number or string is one token), so nothing
the parser would accept is refused here; the parser's limit stays behind it.
"""

import re
from collections.abc import Iterator
from itertools import islice

from graphql import GraphQLError
from strawberry.extensions.base_extension import SchemaExtension

_TOKEN = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*"""'  # block string
    r'|"(?:\\.|[^"\\\n\r])*"'  # string
    r"|#[^\n\r]*"  # comment (matched so strings inside are skipped; not counted)
    r"|\.\.\."
    r"|[_A-Za-z][_0-9A-Za-z]*"
    r"|-?\d[\d.eE+\-]*"
    r"|[!$&():=@\[\]{|}]"
)


def count_tokens(document: str) -> int:
    """Tokens in a GraphQL document, never more than graphql-core counts."""
    found = _TOKEN.findall(document)
    return len(found) - sum(1 for token in found if token[0] == "#")


def more_tokens_than(document: str, limit: int) -> bool:
    """`count_tokens(document) > limit`, reading the document only as far as
    the limit: a refused document costs the same however long it is."""
    if "#" in document:  # comments match but do not count: count them all
        return count_tokens(document) > limit
    return sum(1 for _ in islice(_TOKEN.finditer(document), limit + 1)) > limit


def token_guard(max_tokens: int) -> type[SchemaExtension]:
    """An extension class (built once, so the validation cache still hits)."""

    class TokenGuard(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            query = self.execution_context.query or ""
            if len(query) > max_tokens and more_tokens_than(query, max_tokens):
                raise GraphQLError(
                    f"Document contains more than {max_tokens} tokens. "
                    "Parsing aborted.",
                    extensions={"code": "GRAPHQL_PARSE_FAILED"},
                )
            yield

    return TokenGuard

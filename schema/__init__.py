"""The GraphQL schema: root types assembled from the features, plus the limits."""

import strawberry
from graphql import ASTValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.context import QueriesKeepTheStoreVersion
from schema.core.errors import LadderSchema, MaskUnexpectedErrors
from schema.core.execution import LadderExecutionContext, lean_resolvers
from schema.core.guards import RejectNulCharacters, max_directives
from schema.core.limits import token_guard
from schema.customers.mutations import CustomerMutation
from schema.customers.queries import CustomerQuery
from schema.ledger.mutations import LedgerMutation
from schema.orders.mutations import OrderMutation
from schema.program.mutations import ProgramMutation
from schema.program.queries import ProgramQuery
from schema.rewards.mutations import RewardMutation
from schema.rewards.queries import RewardQuery
from schema.stores.mutations import StoreMutation
from schema.stores.queries import StoreQuery
from schema.tiers.mutations import TierMutation
from schema.tiers.queries import TierQuery


@strawberry.type(description="Everything a storefront or back office can read.")
class Query(StoreQuery, CustomerQuery, ProgramQuery, TierQuery, RewardQuery):
    pass


@strawberry.type(
    description="Everything that changes data. Payloads carry `userErrors`."
)
class Mutation(
    StoreMutation,
    CustomerMutation,
    OrderMutation,
    LedgerMutation,
    RewardMutation,
    TierMutation,
    ProgramMutation,
):
    pass


def build_schema(
    *,
    max_depth: int = 10,
    max_tokens: int = 2000,
    max_aliases: int = 15,
    max_page_size: int = 100,
    introspection: bool = True,
    field_suggestions: bool = True,
    extra_extensions: tuple[type[SchemaExtension], ...] = (),
) -> strawberry.Schema:
    """The schema with its limits; the SDL is the same whatever the limits.
    `extra_extensions` come from the app (the HTTP layer's database probe)."""
    rules: list[type[ASTValidationRule]] = [
        *_rule_classes(QueryDepthLimiter(max_depth=max_depth)),
        *_rule_classes(MaxAliasesLimiter(max_alias_count=max_aliases)),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)

    # Rules are built once and wrapped in a fixed class: a factory per request
    # would defeat the validation cache (see research/stack.md §2.2).
    class Limits(AddValidationRules):
        def __init__(self) -> None:
            super().__init__(rules)

    class Tokens(MaxTokensLimiter):
        def __init__(self) -> None:
            super().__init__(max_token_count=max_tokens)

    # What checks the text runs on its first request only (schema/core/admission.py).
    document: list[type[SchemaExtension]] = [
        Tokens,
        token_guard(max_tokens),
        ParserCache,
        max_directives(50),
        RejectNulCharacters,
        Limits,
        ValidationCache,
    ]
    schema = LadderSchema(
        query=Query,
        mutation=Mutation,
        document_extensions=document,
        execution_extensions=[
            MaskUnexpectedErrors,
            QueriesKeepTheStoreVersion,
            *extra_extensions,
        ],
        execution_context_class=LadderExecutionContext,
        config=StrawberryConfig(
            relay_max_results=max_page_size,
            disable_field_suggestions=not field_suggestions,
        ),
    )
    lean_resolvers(schema._schema)
    return schema


def _rule_classes(extension: AddValidationRules) -> list[type[ASTValidationRule]]:
    return list(extension.validation_rules)


def sdl() -> str:
    """The schema as SDL, as committed in schema/schema.graphql."""
    return build_schema().as_str() + "\n"

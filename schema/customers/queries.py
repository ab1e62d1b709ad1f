from collections.abc import AsyncIterable
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.core.clock import utc_now
from api.customers import service
from api.customers.errors import CustomerNotFoundError
from api.customers.models import Platform as PlatformValue
from api.customers.service import CustomerSort
from api.ladder import rules as ladder_rules
from api.ladder.models import Stage
from api.program import service as program
from schema.context import Info
from schema.core.permissions import IsAuthenticated, IsSecretKey, caller
from schema.core.relay import EmptyRows, decode_id
from schema.customers.types import (
    Customer,
    CustomerConnection,
    Platform,
    listed_columns,
)
from schema.ladder.types import LadderStage


@strawberry.enum(description="How to order a list of customers.")
class CustomerSortKey(Enum):
    CREATED_AT = strawberry.enum_value(
        "created_at", description="When Ladder first knew them."
    )
    UPDATED_AT = strawberry.enum_value(
        "updated_at", description="Last change to the record."
    )
    EMAIL = strawberry.enum_value("email", description="Email address, alphabetically.")
    LAST_NAME = strawberry.enum_value(
        "last_name", description="Family name, alphabetically."
    )
    POINTS_BALANCE = strawberry.enum_value(
        "points_balance", description="Spendable points."
    )
    LAST_ORDER_AT = strawberry.enum_value(
        "last_order_at", description="Last paid order."
    )


@strawberry.type
class CustomerQuery:
    @strawberry.field(
        permission_classes=[IsSecretKey],
        description="One customer of the store by id; null when there is none.",
    )
    async def customer(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The customer's global id.")
        ],
    ) -> Customer | None:
        customer_id = decode_id(id, "Customer")
        if customer_id is None:
            return None
        try:
            row = await service.get(caller(info).store, customer_id)
        except CustomerNotFoundError:
            return None
        return Customer.from_row(row, info)

    @strawberry.field(
        permission_classes=[IsSecretKey],
        description="One customer by their id on a platform; null when there is none.",
    )
    async def customer_by_external_id(
        self,
        info: Info,
        external_id: Annotated[
            str, strawberry.argument(description="The customer's id on the platform.")
        ],
        platform: Annotated[
            Platform, strawberry.argument(description="Which platform the id is from.")
        ] = Platform.CUSTOM,
    ) -> Customer | None:
        row = await service.find_by_external_id(
            caller(info).store,
            platform=PlatformValue[platform.name],
            external_id=external_id,
        )
        return Customer.from_row(row, info) if row else None

    @relay.connection(
        CustomerConnection,
        permission_classes=[IsSecretKey],
        description="The store's customers, newest first unless sorted otherwise.",
    )
    def customers(
        self,
        info: Info,
        query: Annotated[
            str | None,
            strawberry.argument(
                description="Matches email or name (contains) or an external id (exact)."
            ),
        ] = None,
        enrolled: Annotated[
            bool | None,
            strawberry.argument(
                description="Only enrolled (true) or not enrolled (false) customers."
            ),
        ] = None,
        sort_key: Annotated[
            CustomerSortKey, strawberry.argument(description="What to sort by.")
        ] = CustomerSortKey.CREATED_AT,
        reverse: Annotated[
            bool,
            strawberry.argument(description="Descending order when true (default)."),
        ] = True,
        stage: Annotated[
            LadderStage | None,
            strawberry.argument(description="Only customers on this ladder rung."),
        ] = None,
        tier_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only customers in this tier."),
        ] = None,
        lapsed: Annotated[
            bool | None,
            strawberry.argument(
                description="Only lapsed buyers (true) or only those not lapsed (false)."
            ),
        ] = None,
    ) -> AsyncIterable[Customer]:
        store = caller(info).store
        cutoff = ladder_rules.lapse_cutoff(program.settings(store), utc_now())
        tier = decode_id(tier_id, "Tier") if tier_id is not None else None
        if tier_id is not None and tier is None:
            return EmptyRows()  # type: ignore[return-value]  # unknown tier: no members
        # Rows, not types: the connection wraps each row in a ListedCustomer.
        return service.search(  # type: ignore[return-value]
            store,
            fields=listed_columns(info),
            text=query,
            enrolled=enrolled,
            stage=Stage[stage.name] if stage else None,
            tier_id=tier,
            lapsed_before=cutoff if lapsed is True else None,
            active_since=cutoff if lapsed is False else None,
            sort=CustomerSort[sort_key.name],
            descending=reverse,
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The signed-in shopper (from the customer token); null without one.",
    )
    async def me(self, info: Info) -> Customer | None:
        principal = caller(info)
        if principal.customer_id is None:
            return None
        try:
            row = await service.get(principal.store, principal.customer_id)
        except CustomerNotFoundError:
            return None
        return Customer.from_row(row, info)

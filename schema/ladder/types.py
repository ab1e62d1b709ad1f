from datetime import datetime
from enum import Enum

import strawberry


@strawberry.enum(description="The rungs of the loyalty ladder, lowest first.")
class LadderStage(Enum):
    PROSPECT = strawberry.enum_value(
        "prospect", description="Known, no interest shown yet."
    )
    CANDIDATE = strawberry.enum_value(
        "candidate", description="Showed interest: enrolled or subscribed."
    )
    PURCHASER = strawberry.enum_value("purchaser", description="Paid one order.")
    CLIENT = strawberry.enum_value("client", description="Bought again.")
    ADVOCATE = strawberry.enum_value(
        "advocate", description="Keeps buying and recommends the store."
    )


@strawberry.type(description="One move on the loyalty ladder.")
class StageChange:
    from_stage: LadderStage | None = strawberry.field(
        description="Rung before; null at first."
    )
    to_stage: LadderStage = strawberry.field(description="Rung after.")
    cause: str = strawberry.field(
        description="What moved the customer, e.g. an order paid."
    )
    created_at: datetime = strawberry.field(description="When (UTC).")

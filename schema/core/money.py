import strawberry


@strawberry.type(
    description="An amount of money: integer minor units plus its currency."
)
class Money:
    amount_minor: int = strawberry.field(
        description="Amount in the currency's minor unit (cents for EUR: 1999 = 19.99)."
    )
    currency: str = strawberry.field(description="ISO 4217 code.")

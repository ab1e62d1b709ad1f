from api.stores import service
from api.stores.service import IssuedKeys


async def make_store(
    *, name: str = "Test Store", currency: str = "EUR", origins: list[str] | None = None
) -> IssuedKeys:
    return await service.create_store(
        name=name,
        currency=currency,
        timezone="Europe/Paris",
        allowed_origins=origins
        if origins is not None
        else ["https://shop.example.com"],
    )

from datetime import date

from api.customers import service
from api.customers.models import Customer, Platform
from api.customers.rules import CustomerChanges
from api.stores.models import Store


async def make_customer(
    store: Store,
    *,
    external_id: str = "cust-1",
    email: str | None = "ada@example.com",
    first_name: str | None = "Ada",
    last_name: str | None = "Lovelace",
    birthday: date | None = None,
    enrolled: bool = False,
    platform: Platform = Platform.CUSTOM,
) -> Customer:
    result = await service.upsert(
        store,
        platform=platform,
        external_id=external_id,
        changes=CustomerChanges(
            {
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
                "birthday": birthday,
            }
        ),
    )
    if enrolled:
        return await service.enroll(store, result.customer.id)
    return result.customer

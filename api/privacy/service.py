"""Privacy duties: export everything about a customer, or erase it.

Erasure keeps the points ledger (anonymised: it names no one) so the store's
books still balance; every personal field of the customer is wiped.
"""

from typing import Any
from uuid import UUID

from api.customers import service as customers
from api.customers.models import Customer, CustomerIdentity, Platform
from api.ladder.models import StageChange
from api.ledger.models import PointsTransaction
from api.orders.models import Order
from api.platforms import PrivacyRequest
from api.privacy.models import PrivacyRequestRecord
from api.rewards.models import Redemption
from api.stores.models import Store
from api.tiers.models import TierChange


async def export(store: Store, customer_id: UUID) -> dict[str, Any]:
    """Everything Ladder holds about one customer, as plain JSON."""
    customer = await customers.get(store, customer_id)
    identities = await CustomerIdentity.filter(
        store_id=store.id, customer_id=customer.id
    )
    ledger = await PointsTransaction.filter(
        store_id=store.id, customer_id=customer.id
    ).order_by("created_at")
    orders = await Order.filter(store_id=store.id, customer_id=customer.id).order_by(
        "placed_at"
    )
    redemptions = await Redemption.filter(store_id=store.id, customer_id=customer.id)
    stages = await StageChange.filter(store_id=store.id, customer_id=customer.id)
    tiers = await TierChange.filter(store_id=store.id, customer_id=customer.id)
    return {
        "customer": {
            "id": str(customer.id),
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "birthday": customer.birthday.isoformat() if customer.birthday else None,
            "marketing_consent": customer.marketing_consent,
            "enrolled": customer.enrolled,
            "enrolled_at": _iso(customer.enrolled_at),
            "points_balance": customer.points_balance,
            "points_pending": customer.points_pending,
            "stage": customer.stage.value,
            "created_at": _iso(customer.created_at),
        },
        "external_ids": [
            {"platform": i.platform.value, "id": i.external_id} for i in identities
        ],
        "points_transactions": [
            {
                "kind": t.kind.value,
                "points": t.points,
                "reason": t.reason,
                "at": _iso(t.created_at),
            }
            for t in ledger
        ],
        "orders": [
            {
                "platform": o.platform,
                "order_ref": o.order_ref,
                "status": o.status.value,
                "eligible_minor": o.eligible_minor,
                "currency": o.currency,
                "points_earned": o.points_earned,
                "placed_at": _iso(o.placed_at),
            }
            for o in orders
        ],
        "redemptions": [
            {
                "code": r.code,
                "status": r.status.value,
                "points": r.points_spent,
                "at": _iso(r.created_at),
            }
            for r in redemptions
        ],
        "stage_history": [
            {"to": s.to_stage.value, "cause": s.cause, "at": _iso(s.created_at)}
            for s in stages
        ],
        "tier_history": [
            {"reason": t.reason.value, "at": _iso(t.created_at)} for t in tiers
        ],
    }


async def handle(store: Store, request: PrivacyRequest) -> PrivacyRequestRecord:
    """Carry out a platform's privacy request and keep a record of it."""
    if request.kind == "shop_redact":
        erased = 0
        for customer_id in await Customer.filter(
            store_id=store.id, erased_at__isnull=True
        ).values_list("id", flat=True):
            await customers.erase(store, UUID(str(customer_id)))
            erased += 1
        return await _record(store, request, None, None, f"erased {erased} customers")
    customer = await _subject(store, request)
    if customer is None:
        return await _record(
            store, request, None, None, "no such customer: nothing held"
        )
    if request.kind == "customer_data_request":
        data = await export(store, customer.id)
        return await _record(store, request, customer.id, data, "exported")
    await customers.erase(store, customer.id)
    return await _record(store, request, customer.id, None, "erased")


async def _subject(store: Store, request: PrivacyRequest) -> Customer | None:
    if request.customer_external_id:
        platform = Platform(_platform_of(request))
        found = await customers.find_by_external_id(
            store, platform=platform, external_id=request.customer_external_id
        )
        if found is not None:
            return found
    if request.customer_email:
        return (
            await customers.active(store)
            .filter(email=request.customer_email.strip().lower())
            .first()
        )
    return None


def _platform_of(request: PrivacyRequest) -> str:
    # Privacy requests come from Shopify today; WooCommerce has no such webhook.
    return "shopify" if request.shop_ref.endswith(".myshopify.com") else "custom"


async def _record(
    store: Store,
    request: PrivacyRequest,
    customer_id: UUID | None,
    data: dict[str, Any] | None,
    outcome: str,
) -> PrivacyRequestRecord:
    return await PrivacyRequestRecord.create(
        store_id=store.id,
        kind=request.kind,
        shop_ref=request.shop_ref,
        request_ref=request.request_ref,
        customer_id=customer_id,
        export=data,
        outcome=outcome,
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None

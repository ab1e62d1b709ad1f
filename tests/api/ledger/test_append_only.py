import pytest
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from api.ledger.models import PointsTransaction
from api.stores.service import IssuedKeys
from tests.factories.program import ingest, make_spend_rule, order_event


@pytest.mark.postgres
async def test_ledger_rows_cannot_be_updated_or_deleted(store: IssuedKeys) -> None:
    # given one earn entry
    await make_spend_rule(store.store)
    await ingest(store.store, order_event(amount=1_000))
    entry = await PointsTransaction.get()
    # when anything tries to rewrite it, then the database refuses
    with pytest.raises(BaseORMException, match="append-only"):
        async with in_transaction():
            await PointsTransaction.filter(id=entry.id).update(points=1_000_000)
    with pytest.raises(BaseORMException, match="append-only"):
        async with in_transaction():
            await PointsTransaction.filter(id=entry.id).delete()
    assert (await PointsTransaction.get(id=entry.id)).points == entry.points

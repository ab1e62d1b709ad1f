"""A connector for the inbox's tests (fixture `shop` in tests/api/inbox)."""

from collections.abc import Mapping
from typing import Any

from api.platforms import Connector, PlatformName


class Facts:
    """A connector whose payload lists its facts: names of customers to create;
    "refuse:x" creates x, then refuses for good; "later:x" creates x, then
    refuses until its order arrives."""

    def facts(
        self, topic: str, payload: Mapping[str, Any], *, currency: str
    ) -> list[object]:
        return list(payload["facts"])


def connectors() -> Mapping[PlatformName, Connector]:
    return {PlatformName.SHOPIFY: Facts()}  # type: ignore[dict-item]  # facts only

"""Which tables move which change version (see migration 0008).

A cached read is exact only if every row it can reach moves a version the
cache compares. So every table is listed here exactly once, and
tests/api/versions/test_versions.py fails for a table that is not, or whose triggers
are missing: a new table must say what it moves, in its migration too.
"""

# Rows about one customer: any change moves `customers.cache_version`. The
# customers row itself moves it too.
CUSTOMER_TABLES = frozenset(
    {
        "customer_identities",
        "order_refunds",  # through its order
        "orders",
        "points_lots",
        "points_transactions",
        "redemptions",
        "stage_changes",
        "tier_changes",
    }
)

# The store's programme: any change moves `stores.config_version`. The stores
# row itself (settings, timezone, token secret) moves it too.
CONFIG_TABLES = frozenset({"campaigns", "earning_rules", "rewards", "tiers"})

# Never read by a customer-scoped read, so they move nothing.
UNVERSIONED = {
    "api_keys": "checked on every request before any cache is consulted",
    "connections": "platform credentials, never shown to shoppers",
    "idempotency_records": "replays of mutations, which are never cached",
    "webhook_deliveries": "the inbox; what a delivery changes moves its own rows",
    "privacy_requests": "platform privacy requests, not shown to shoppers",
    "customers": "moves its own version",
    "stores": "moves its own version",
}

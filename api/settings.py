"""Settings from the environment (prefix ``LADDER_``), read once and passed down."""

import secrets
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".ladder")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class Settings(BaseSettings):
    """Everything Ladder reads from its environment. Build one, pass it down."""

    model_config = SettingsConfigDict(env_prefix="LADDER_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default=f"sqlite://{DEFAULT_DATA_DIR}/ladder.sqlite3",
        description="sqlite://PATH (embedded default) or postgres://USER@HOST/DB.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias="PORT")

    # GraphQL limits (see docs/security.md); starting points from graphql-armor
    # and GitHub's API, written down here so operators can tune them.
    graphql_ide: bool | None = Field(
        default=None, description="Serve GraphiQL; defaults to on outside production."
    )
    introspection: bool | None = Field(
        default=None,
        description="Allow introspection; defaults to on outside production.",
    )
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_aliases: int = 15
    max_body_bytes: int = 100_000
    max_page_size: int = 100
    # Requests per minute per API key (bursts up to it); 0 switches limits off.
    rate_limit_per_minute: int = 1200

    # Customer tokens minted for storefronts live this long unless asked otherwise.
    customer_token_ttl_seconds: int = 3600
    customer_token_max_ttl_seconds: int = 30 * 24 * 3600

    # Storefront `me` answers are cached per shopper, and served while nothing
    # about the shopper or the programme has changed (api/http/me_cache.py);
    # what depends on the clock alone may be up to this old.
    # 0 switches the cache off; it is always off on SQLite (no triggers there).
    me_cache_seconds: int = Field(default=60, ge=0)
    me_cache_megabytes: int = Field(default=32, ge=1)

    http_timeout_seconds: float = 10.0
    # Retry-After on the 503 answered while the database is unreachable.
    unavailable_retry_after_seconds: int = 5
    # On SIGTERM, in-flight requests get this long to finish before the exit.
    shutdown_timeout_seconds: int = 10

    # Encrypts platform credentials at rest. Required in production; in
    # development a random key is kept in .ladder/secret.key.
    secret_key: SecretStr | None = None
    # Where platforms reach this server (OAuth callbacks, webhook addresses).
    public_url: str = "http://127.0.0.1:8000"

    # Shopify app credentials (a public or custom app). The previous secret
    # stays valid for webhooks during a rotation (Shopify: up to an hour).
    shopify_api_key: str = ""
    shopify_api_secret: SecretStr = SecretStr("")
    shopify_previous_api_secret: SecretStr = SecretStr("")
    shopify_api_version: str = "2026-04"
    shopify_scopes: str = "read_orders,read_customers,write_discounts"
    max_webhook_bytes: int = 2_000_000
    # WooCommerce drops failed webhooks for good: reconcile recent orders this often.
    woocommerce_reconcile_minutes: int = 10
    # Processed webhook deliveries are deleted this many days after they came
    # (0 keeps them). Platforms retry for hours, not weeks (Shopify: 48 h at
    # most), so a repeat is still recognised as one; hence at least 2.
    inbox_retention_days: int = Field(default=30, ge=0, le=36_500)

    # How often time-driven work runs (pending points released, expiry, tier
    # reviews, birthdays). `ladder serve` runs it in-process; 0 leaves it to
    # `ladder worker` (for several replicas, run one worker).
    maintenance_interval_seconds: int = 60

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("use sqlite://PATH or postgres://USER@HOST:PORT/DB")
        return value.replace("postgresql://", "postgres://", 1)

    @field_validator("inbox_retention_days")
    @classmethod
    def _past_retries(cls, value: int) -> int:
        if value == 1:
            raise ValueError("0 (keep them) or at least 2: platforms retry for 48 h")
        return value

    def inbox_retention(self) -> timedelta | None:
        days = self.inbox_retention_days
        return timedelta(days=days) if days else None

    def vault_key(self) -> str:
        """The key that encrypts credentials: configured, or a development key
        kept next to the embedded database."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.is_production:
            raise RuntimeError("LADDER_SECRET_KEY is required in production")
        path = DEFAULT_DATA_DIR / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def shopify_secrets(self) -> list[str]:
        return [
            s.get_secret_value()
            for s in (self.shopify_api_secret, self.shopify_previous_api_secret)
            if s.get_secret_value()
        ]

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgres://")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production if self.graphql_ide is None else self.graphql_ide

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is None:
            return not self.is_production
        return self.introspection

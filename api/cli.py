"""The `ladder` command: serve, migrate, manage stores, seed the demo."""

import json
import sys
import webbrowser
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.panel import Panel
from tortoise import Tortoise
from tortoise.exceptions import BaseORMException
from tortoise.transactions import in_transaction

from api import db, runtime
from api.core.errors import DomainError
from api.settings import Settings

app = typer.Typer(
    help="Ladder, the headless loyalty engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
store_app = typer.Typer(
    help="Create stores and manage their API keys.", no_args_is_help=True
)
schema_app = typer.Typer(help="The committed GraphQL SDL.", no_args_is_help=True)
migrations_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(schema_app, name="schema")
app.add_typer(migrations_app, name="migrations")
shopify_app = typer.Typer(help="Connect and sync Shopify shops.", no_args_is_help=True)
app.add_typer(shopify_app, name="shopify")
sync_app = typer.Typer(
    help="Backfill and reconcile platform orders.", no_args_is_help=True
)
app.add_typer(sync_app, name="sync")
woocommerce_app = typer.Typer(help="Connect WooCommerce stores.", no_args_is_help=True)
app.add_typer(woocommerce_app, name="woocommerce")

console = Console(stderr=True)
T = TypeVar("T")

SDL_PATH = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


class CliError(Exception):
    """A failure to report as one line."""


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        reason = str(first["msg"]).removeprefix("Value error, ")
        _fail(f"invalid setting LADDER_{field.upper()}: {reason}")


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async command; every expected failure becomes one line and exit 1."""
    try:
        return runtime.run(work())
    except CliError as error:
        _fail(str(error))
    except DomainError as error:
        _fail(error.message)
    except (BaseORMException, OSError) as error:
        _fail(f"database: {error}. Is LADDER_DATABASE_URL right, and migrated?")
    raise AssertionError("unreachable")


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    db.ensure_sqlite_dir(settings.database_url)
    await Tortoise.init(config=db.tortoise_config(settings.database_url))
    try:
        async with in_transaction():  # a failing command leaves nothing half-written
            return await work()
    finally:
        await Tortoise.close_connections()


def _print_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = _settings()
    _run(lambda: db.migrate(settings))
    console.print("migrations applied", highlight=False)


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Seed the demo store and print its keys.")
    ] = False,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open GraphiQL in a browser.")
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="Interface (default LADDER_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default PORT or 8000).")
    ] = None,
) -> None:
    """Migrate, then serve the GraphQL API."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    _run(lambda: db.migrate(settings))
    url = f"http://{host}:{port}/graphql"
    if demo and settings.is_production:
        _fail("--demo is for development: unset LADDER_ENVIRONMENT=production")
    if demo:
        from api.demo import seed_demo

        credentials = _run(lambda: _with_orm(settings, seed_demo))
        console.print(
            Panel.fit(
                f"GraphQL + GraphiQL  {url}\n\n"
                f"Secret key       {credentials.secret_key}\n"
                f"Publishable key  {credentials.publishable_key}\n\n"
                "In GraphiQL, open Headers and paste:\n"
                f'{{"Authorization": "Bearer {credentials.secret_key}"}}\n'
                "then run:  { store { name currency } customers(first: 5) "
                "{ edges { node { email isEnrolled } } } }",
                title="Ladder demo store",
            ),
            highlight=False,
        )
    if open_browser and settings.graphiql_enabled:
        webbrowser.open(url)
    application = create_app(settings)
    runtime.tune_gc()
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option(help="Run one round, print it, and exit.")
    ] = False,
) -> None:
    """Run time-driven work: release pending points, expire lots, review tiers,
    give birthday bonuses (every LADDER_MAINTENANCE_INTERVAL_SECONDS)."""
    from api.maintenance import service as maintenance

    settings = _settings()
    interval = settings.maintenance_interval_seconds or 60

    from api.app import platform_connectors
    from api.core.crypto import Vault

    connectors = platform_connectors(settings)
    vault = Vault(settings.vault_key())

    async def work() -> dict[str, int]:
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            platforms = maintenance.Platforms(
                connectors=connectors,
                http=http,
                vault=vault,
                reconcile_every=timedelta(
                    minutes=settings.woocommerce_reconcile_minutes
                ),
                inbox_retention=settings.inbox_retention(),
            )
            if not once:
                await maintenance.run_forever(interval, platforms)
            report = await maintenance.run(platforms=platforms)
        return vars(report)

    async def with_orm() -> dict[str, int]:
        db.ensure_sqlite_dir(settings.database_url)
        await Tortoise.init(
            config=db.tortoise_config(settings.database_url),
            _enable_global_fallback=True,
        )
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    _print_json(_run(with_orm))


@app.command("demo")
def demo_command() -> None:
    """Seed the demo store (or give it fresh keys) and print its credentials."""
    from api.demo import seed_demo

    settings = _settings()
    if settings.is_production:
        _fail("the demo store is for development: unset LADDER_ENVIRONMENT=production")
    credentials = _run(lambda: _with_orm(settings, seed_demo))
    _print_json(
        {
            "store_id": credentials.store_id,
            "secret_key": credentials.secret_key,
            "publishable_key": credentials.publishable_key,
        }
    )


@store_app.command("create")
def store_create(
    name: Annotated[str, typer.Option(help="Display name.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR.")],
    timezone: Annotated[
        str, typer.Option(help="IANA zone, e.g. Europe/Paris.")
    ] = "UTC",
    origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Browser origin allowed for the publishable key (repeatable)."
        ),
    ] = None,
) -> None:
    """Create a store and print its keys as JSON (the secret key is shown only now)."""
    from api.stores import service

    settings = _settings()

    async def work() -> dict[str, Any]:
        issued = await service.create_store(
            name=name,
            currency=currency,
            timezone=timezone,
            allowed_origins=origin or [],
        )
        return {
            "store_id": str(issued.store.id),
            "secret_key": issued.secret_key,
            "publishable_key": issued.publishable_key,
        }

    _print_json(_run(lambda: _with_orm(settings, work)))


@store_app.command("rotate-key")
def store_rotate_key(
    store: Annotated[str, typer.Option(help="The store id.")],
    kind: Annotated[str, typer.Option(help="secret or publishable.")] = "secret",
) -> None:
    """Revoke the store's active keys of a kind and print the new key as JSON."""
    from api.stores import service
    from api.stores.models import KeyKind

    settings = _settings()
    try:
        key_kind = KeyKind(kind)
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id and --kind secret or publishable")

    async def work() -> dict[str, Any]:
        row = await service.get_store(store_id)
        key = await service.rotate_key(row, key_kind)
        return {"store_id": str(row.id), "kind": key_kind.value, "key": key}

    _print_json(_run(lambda: _with_orm(settings, work)))


@store_app.command("revoke-tokens")
def store_revoke_tokens(
    store: Annotated[str, typer.Option(help="The store id.")],
) -> None:
    """Invalidate every customer token the store has issued (after a leak)."""
    from api.stores import service

    settings = _settings()
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")

    async def work() -> dict[str, Any]:
        row = await service.get_store(store_id)
        await service.revoke_customer_tokens(row)
        return {"store_id": str(row.id), "customer_tokens": "revoked"}

    _print_json(_run(lambda: _with_orm(settings, work)))


@shopify_app.command("connect")
def shopify_connect(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    shop: Annotated[str, typer.Option(help="The shop, e.g. my-shop.myshopify.com.")],
    token: Annotated[
        str, typer.Option(help="The custom app's Admin API access token.")
    ],
    webhook_secret: Annotated[
        str | None,
        typer.Option(help="The custom app's API secret (signs its webhooks)."),
    ] = None,
    include_test_orders: Annotated[
        bool, typer.Option(help="Let test-gateway orders earn points.")
    ] = False,
) -> None:
    """Connect a Shopify shop with a custom app's token (no OAuth install)."""
    from api.connections import service as connections
    from api.core.crypto import Vault
    from api.platforms import PlatformName
    from api.stores import service as stores
    from plugins.shopify.signature import is_valid_shop_domain

    settings = _settings()
    if not is_valid_shop_domain(shop.strip().lower()):
        _fail("--shop must be a shop domain such as my-shop.myshopify.com")
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")
    vault = Vault(settings.vault_key())

    async def work() -> dict[str, Any]:
        row = await stores.get_store(store_id)
        connection = await connections.connect(
            row,
            platform=PlatformName.SHOPIFY,
            shop_ref=shop,
            vault=vault,
            access_token=token,
            webhook_secret=webhook_secret,
        )
        connection.include_test_orders = include_test_orders
        await connection.save(update_fields=["include_test_orders"])
        return {
            "store_id": str(row.id),
            "shop": connection.shop_ref,
            "webhook_url": f"{settings.public_url.rstrip('/')}/webhooks/shopify",
        }

    _print_json(_run(lambda: _with_orm(settings, work)))


@shopify_app.command("install-url")
def shopify_install_url(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    shop: Annotated[str, typer.Option(help="The shop, e.g. my-shop.myshopify.com.")],
) -> None:
    """Print the link a merchant opens to install Ladder on their shop (7 days)."""
    from api.http.shopify_install import install_link
    from plugins.shopify.signature import is_valid_shop_domain

    settings = _settings()
    shop = shop.strip().lower()
    if not is_valid_shop_domain(shop):
        _fail("--shop must be a shop domain such as my-shop.myshopify.com")
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")

    async def work() -> dict[str, Any]:
        from api.stores import service as stores

        row = await stores.get_store(store_id)
        return {
            "store_id": str(row.id),
            "install_url": install_link(settings, store_id=row.id, shop=shop),
        }

    _print_json(_run(lambda: _with_orm(settings, work)))


def _sync(
    platform_name: str, store: str, since: datetime | None, max_pages: int | None
) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from api.app import platform_connectors
    from api.connections import service as connections
    from api.core.crypto import Vault
    from api.platforms import PlatformName
    from api.stores import service as stores
    from api.sync import service as sync
    from api.sync.report import SyncReport

    settings = _settings()
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")
    platform = PlatformName(platform_name)
    vault = Vault(settings.vault_key())
    connector = platform_connectors(settings)[platform]
    start = since.replace(tzinfo=since.tzinfo or UTC) if since else None

    async def work() -> dict[str, Any]:
        row = await stores.get_store(store_id)
        connection = await connections.for_store(row, platform)
        if connection is None:
            raise CliError(f"this store has no active {platform.value} connection")
        await connection.fetch_related("store")
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            token = await connections.access_token(connection, vault, connector, http)
            if not token:
                raise CliError("the connection has no credentials")
            source = connector.client(
                http, shop_ref=connection.shop_ref, access_token=token
            )
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), console=console
            ) as bar:
                task = bar.add_task("syncing", total=None)

                def show(report: SyncReport) -> None:
                    bar.update(
                        task,
                        description=f"{report.orders_seen} orders seen, "
                        f"{report.events_ingested} events ingested, {report.errors} errors",
                    )

                report = await sync.backfill(
                    connection, source, since=start, max_pages=max_pages, on_page=show
                )
        return {"shop": connection.shop_ref, **vars(report)}

    async def outside_transaction() -> dict[str, Any]:
        db.ensure_sqlite_dir(settings.database_url)
        await Tortoise.init(config=db.tortoise_config(settings.database_url))
        try:
            return await work()  # each page commits on its own: a stop keeps what ran
        finally:
            await Tortoise.close_connections()

    _print_json(_run(outside_transaction))


SINCE_HELP = "Orders changed since (ISO date); default: since the last sync."
PAGES_HELP = "Stop after this many pages (resume later)."


@sync_app.command("shopify")
def sync_shopify(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    since: Annotated[datetime | None, typer.Option(help=SINCE_HELP)] = None,
    max_pages: Annotated[int | None, typer.Option(help=PAGES_HELP)] = None,
) -> None:
    """Backfill a Shopify shop's orders; resumable, and twice changes nothing."""
    _sync("shopify", store, since, max_pages)


@sync_app.command("woocommerce")
def sync_woocommerce(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    since: Annotated[datetime | None, typer.Option(help=SINCE_HELP)] = None,
    max_pages: Annotated[int | None, typer.Option(help=PAGES_HELP)] = None,
) -> None:
    """Backfill or reconcile a WooCommerce store's orders (also run by the worker)."""
    _sync("woocommerce", store, since, max_pages)


@woocommerce_app.command("connect")
def woocommerce_connect(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    url: Annotated[
        str, typer.Option(help="The WooCommerce site, e.g. https://shop.example.com.")
    ],
    key: Annotated[str, typer.Option(help="REST API consumer key (ck_...).")],
    secret: Annotated[str, typer.Option(help="REST API consumer secret (cs_...).")],
    webhooks: Annotated[
        bool, typer.Option(help="Create Ladder's webhooks on the store.")
    ] = True,
) -> None:
    """Connect a WooCommerce store with REST keys: verified before they are kept."""
    from api.connections import service as connections
    from api.core.crypto import Vault
    from api.http.woocommerce_install import WEBHOOK_TOPICS
    from api.platforms import PlatformName
    from api.stores import service as stores
    from plugins.woocommerce.client import WooCommerceAPI
    from plugins.woocommerce.signature import new_webhook_secret

    settings = _settings()
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")
    site = connections.site_ref(url)
    if not site.startswith(("https://", "http://")):
        _fail("--url must start with https:// (or http:// for a local test store)")
    vault = Vault(settings.vault_key())
    webhook_secret = new_webhook_secret()

    async def work() -> dict[str, Any]:
        row = await stores.get_store(store_id)
        async with httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http:
            api = WooCommerceAPI(
                http, site_url=site, consumer_key=key, consumer_secret=secret
            )
            if not await api.verify_keys():
                raise CliError("these keys do not open that store")
            connection = await connections.connect(
                row,
                platform=PlatformName.WOOCOMMERCE,
                shop_ref=site,
                vault=vault,
                access_token=f"{key}:{secret}",
                webhook_secret=webhook_secret,
                scopes="read_write",
            )
            if webhooks:
                await api.create_webhooks(
                    f"{settings.public_url.rstrip('/')}/webhooks/woocommerce",
                    webhook_secret,
                    WEBHOOK_TOPICS,
                )
        return {
            "store_id": str(row.id),
            "site": connection.shop_ref,
            "webhooks": webhooks,
        }

    _print_json(_run(lambda: _with_orm(settings, work)))


@woocommerce_app.command("install-url")
def woocommerce_install_url(
    store: Annotated[str, typer.Option(help="The Ladder store id.")],
    url: Annotated[
        str, typer.Option(help="The WooCommerce site, e.g. https://shop.example.com.")
    ],
) -> None:
    """Print the link a merchant opens to connect their WooCommerce store (7 days)."""
    from api.http.woocommerce_install import install_link

    settings = _settings()
    try:
        store_id = UUID(store)
    except ValueError:
        _fail("--store must be a store id")

    async def work() -> dict[str, Any]:
        from api.stores import service as stores

        row = await stores.get_store(store_id)
        return {
            "store_id": str(row.id),
            "install_url": install_link(settings, store_id=row.id, site_url=url),
        }

    _print_json(_run(lambda: _with_orm(settings, work)))


@schema_app.command("export")
def schema_export(
    check: Annotated[
        bool,
        typer.Option(help="Fail if schema/schema.graphql differs instead of writing."),
    ] = False,
) -> None:
    """Write the SDL to schema/schema.graphql (or check it is up to date)."""
    from schema import sdl

    current = sdl()
    if check:
        committed = SDL_PATH.read_text() if SDL_PATH.exists() else ""
        if committed != current:
            _fail("schema/schema.graphql is stale: run `ladder schema export`")
        console.print("schema/schema.graphql is up to date", highlight=False)
        return
    SDL_PATH.write_text(current)
    console.print(f"wrote {SDL_PATH}", highlight=False)


@migrations_app.command("check")
def migrations_check() -> None:
    """Fail if the models changed without a migration."""
    pending = _run(db.pending_model_changes)
    if pending:
        _fail(
            "models and migrations drift: run "
            "`tortoise -c api.db.TORTOISE_ORM makemigrations` and commit "
            f"({', '.join(pending)})"
        )
    console.print("migrations match the models", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

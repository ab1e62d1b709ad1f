from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from api.platforms import PlatformName
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('ladder', '0003_order_total')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Connection',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_index=True, db_constraint=True, to_field='id', related_name='connections', on_delete=OnDelete.CASCADE)),
                ('platform', fields.CharEnumField(description='SHOPIFY: shopify\nWOOCOMMERCE: woocommerce', enum_type=PlatformName, max_length=16)),
                ('shop_ref', fields.CharField(max_length=255)),
                ('access_token', fields.TextField(null=True, unique=False)),
                ('refresh_token', fields.TextField(null=True, unique=False)),
                ('token_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('webhook_secret', fields.TextField(null=True, unique=False)),
                ('scopes', fields.CharField(default='', max_length=500)),
                ('active', fields.BooleanField(default=True)),
                ('include_test_orders', fields.BooleanField(default=False)),
                ('sync_cursor', fields.CharField(null=True, max_length=500)),
                ('synced_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('installed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('uninstalled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'connections', 'app': 'ladder', 'unique_together': (('platform', 'shop_ref'),), 'pk_attr': 'id', 'table_description': "A store's link to its shop on a platform, with its (encrypted) credentials."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PrivacyRequestRecord',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_index=True, db_constraint=True, to_field='id', related_name='privacy_requests', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('shop_ref', fields.CharField(max_length=255)),
                ('request_ref', fields.CharField(null=True, max_length=128)),
                ('customer_id', fields.UUIDField(null=True)),
                ('export', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('outcome', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'privacy_requests', 'app': 'ladder', 'pk_attr': 'id', 'table_description': 'A privacy request received from a platform and what was done about it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='webhook_deliveries', on_delete=OnDelete.CASCADE)),
                ('platform', fields.CharEnumField(description='SHOPIFY: shopify\nWOOCOMMERCE: woocommerce', enum_type=PlatformName, max_length=16)),
                ('shop_ref', fields.CharField(max_length=255)),
                ('topic', fields.CharField(max_length=64)),
                ('event_key', fields.CharField(null=True, max_length=128)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'webhook_deliveries', 'app': 'ladder', 'unique_together': (('platform', 'shop_ref', 'topic', 'event_key'),), 'indexes': [Index(fields=['store_id', 'processed_at', 'received_at'])], 'pk_attr': 'id', 'table_description': 'A verified webhook, stored before it is answered (the durable queue).'},
            bases=['Model'],
        ),
    ]

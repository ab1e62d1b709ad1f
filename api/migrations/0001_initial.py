from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from api.customers.models import Platform
from api.stores.models import KeyKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Store',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('currency', fields.CharField(description='ISO 4217 code', max_length=3)),
                ('timezone', fields.CharField(description='IANA zone name', max_length=64)),
                ('program_settings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('token_secret', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'stores', 'app': 'ladder', 'pk_attr': 'id', 'table_description': "The tenant: one merchant's loyalty programme."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_index=True, db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SECRET: secret\nPUBLISHABLE: publishable', enum_type=KeyKind, max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
                ('allowed_origins', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_keys', 'app': 'ladder', 'pk_attr': 'id', 'table_description': 'A credential for one store. Only a SHA-256 hash of the key is kept.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='customers', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('first_name', fields.CharField(null=True, max_length=100)),
                ('last_name', fields.CharField(null=True, max_length=100)),
                ('birthday', fields.DateField(null=True)),
                ('marketing_consent', fields.BooleanField(default=False)),
                ('enrolled', fields.BooleanField(default=False)),
                ('enrolled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('erased_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customers', 'app': 'ladder', 'indexes': [Index(fields=['store_id', 'created_at']), Index(fields=['store_id', 'email'])], 'pk_attr': 'id', 'table_description': 'A person known to a store, enrolled in its programme or not (yet).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerIdentity',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('ladder.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='customer_identities', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('ladder.Customer', source_field='customer_id', db_index=True, db_constraint=True, to_field='id', related_name='identities', on_delete=OnDelete.CASCADE)),
                ('platform', fields.CharEnumField(description='CUSTOM: custom\nSHOPIFY: shopify\nWOOCOMMERCE: woocommerce', enum_type=Platform, max_length=16)),
                ('external_id', fields.CharField(max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer_identities', 'app': 'ladder', 'unique_together': (('store_id', 'platform', 'external_id'),), 'pk_attr': 'id', 'table_description': "A customer's id on one platform (their own site, Shopify, WooCommerce)."},
            bases=['Model'],
        ),
    ]

"""graphql-core's executor with shortcuts for the fields a list is made of.

A page of 100 customers resolves about 700 fields, most of them plain
attributes: an email, a balance, a name, a relay id. For each, graphql-core
builds a path and a resolve info, looks for arguments, calls strawberry's
resolver (eight frames for a field with a resolver) and dispatches the
completion on the field's type: 3-10 µs of Python for a getattr and a
serialize (research/stack.md §2).

Three shortcuts, each taken only where the result cannot differ:

- **Leaf fields** that strawberry would answer by reading an attribute (a
  "basic" field: no resolver, permission, extension, argument or middleware),
  and relay ids of nodes that keep strawberry's default `resolve_id`, are read
  and coerced in place: no path, no info, no resolver call.
- **Object fields** that are basic attributes (an edge's `node`) go straight to
  their sub-selection.
- **Resolvers** without arguments or extensions are called directly with their
  `self`/`info`, not through strawberry's argument conversion and extension
  chain (`lean_resolvers`, applied once to the built schema).

Anything unusual (a null for a non-null field, a value that does not coerce,
an exception, an awaitable, a wrong type) goes back through graphql-core, which
raises the same located error it always did: every shortcut is a pure read, so
doing it again is safe. tests/schema/test_execution.py compares whole answers,
errors included, with strawberry's own executor.
"""

from collections.abc import Callable
from typing import Any, cast
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path, gather_with_cancel
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

DEFINITION = "strawberry-definition"
# Values that can never be awaitable or an exception: no check needed.
_PLAIN = frozenset({str, int, float, bool})


class LeafPlan:
    """Read an attribute (or a relay id) and coerce it like graphql-core."""

    __slots__ = ("coerce", "non_null", "read")

    def __init__(
        self, read: Callable[[Any], Any], coerce: Callable[[Any], Any], non_null: bool
    ):
        self.read, self.coerce, self.non_null = read, coerce, non_null

    def value(self, source: Any) -> Any:
        """The completed value, or Undefined when graphql-core must handle it."""
        try:
            value = self.read(source)
        except Exception:  # graphql-core raises it again, as a located error
            return Undefined
        if value is None:
            return Undefined if self.non_null else None
        if type(value) not in _PLAIN and (
            isinstance(value, BaseException) or hasattr(value, "__await__")
        ):
            return Undefined
        try:
            coerced = self.coerce(value)
        except Exception:
            return Undefined
        return Undefined if coerced is None or coerced is Undefined else coerced


class ObjectPlan:
    """Read an attribute holding an object of a known type."""

    __slots__ = ("attribute", "is_type_of", "non_null", "object_type")

    def __init__(
        self,
        attribute: str,
        object_type: GraphQLObjectType,
        non_null: bool,
        is_type_of: Callable[[Any, Any], Any] | None,
    ):
        self.attribute, self.object_type = attribute, object_type
        self.non_null, self.is_type_of = non_null, is_type_of

    def value(self, source: Any) -> Any:
        """The object (None for a null that is allowed), or Undefined."""
        try:
            value = getattr(source, self.attribute)
        except Exception:
            return Undefined
        if value is None:
            return Undefined if self.non_null else None
        if self.is_type_of is not None and self.is_type_of(value, None) is not True:
            return Undefined
        return value


Plan = LeafPlan | ObjectPlan | None


def plan_for(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> Plan:
    """How to answer field `name` of `parent` without graphql-core, if it can be."""
    field = schema.get_field(parent, name)
    if field is None or field.args:
        return None
    field_type: Any = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    definition = (field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or definition.directives:
        return None
    if is_leaf_type(field_type):
        read = _basic_read(field, definition) or _relay_id_read(parent, definition)
        if read is None:
            return None
        return LeafPlan(read, field_type.coerce_output_value, non_null)
    if is_object_type(field_type) and _basic_read(field, definition) is not None:
        is_type_of = field_type.is_type_of
        if is_type_of is not None and not _ignores_info(is_type_of):
            return None
        return ObjectPlan(definition.python_name, field_type, non_null, is_type_of)
    return None


def _basic_read(
    field: GraphQLField, definition: StrawberryField
) -> Callable[[Any], Any] | None:
    """Strawberry answers the field by reading an attribute (its own resolver
    for a basic field; any wrapper, e.g. exception handlers, loses the shortcut)."""
    if not definition.is_basic_field:
        return None
    if getattr(field.resolve, "__name__", "") != "_get_basic_result":
        return None
    read, attribute = definition.default_resolver, definition.python_name
    return lambda source: read(source, attribute)


def _relay_id_read(
    parent: GraphQLObjectType, definition: StrawberryField
) -> Callable[[Any], Any] | None:
    """A relay node's `id`, as strawberry's Node._id builds it, for node classes
    that keep the default `resolve_id` and `resolve_typename`."""
    resolver = definition.base_resolver
    if resolver is None or definition.extensions or definition.python_name != "_id":
        return None
    if getattr(resolver.wrapped_func, "__func__", None) is not _NODE_ID:
        return None
    type_name = parent.name

    def read(source: Any) -> Any:
        kind = type(source)
        if not (
            isinstance(source, relay.Node)
            and kind.resolve_id.__func__ is _RESOLVE_ID
            and kind.resolve_typename.__func__ is _RESOLVE_TYPENAME
        ):
            raise LookupError("not a default relay node")  # back to graphql-core
        node_id = getattr(source, kind.resolve_id_attr())
        if node_id is None or hasattr(node_id, "__await__"):
            raise LookupError("not a plain id")
        return relay.GlobalID(type_name=type_name, node_id=str(node_id))

    return read


_NODE_ID = relay.Node.__dict__["_id"].__func__
_RESOLVE_ID = relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
_RESOLVE_TYPENAME = relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]


def _ignores_info(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's generated is_type_of (an isinstance check) ignores the info."""
    return "_get_is_type_of" in getattr(is_type_of, "__qualname__", "")


class LadderExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the shortcuts above."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        # graphql-core's execute_fields (3.3), with the shortcuts in the loop.
        manager = self.middleware_manager
        # Strawberry always passes a manager; it wraps nothing without middleware.
        if manager is not None and manager._middleware_resolvers is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plans = _plans(self.schema, parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                name = field_details_list[0].node.name.value
                plan = plans.get(name, Undefined)
                if plan is Undefined:
                    plan = plans[name] = plan_for(self.schema, parent_type, name)
                result: Any = Undefined
                if plan is not None:
                    value = plan.value(source_value)
                    if value is None or type(plan) is LeafPlan:
                        result = value
                    elif value is not Undefined:
                        result = self.collect_and_execute_subfields(
                            plan.object_type,
                            field_details_list,
                            Path(path, response_name, parent_type.name),
                            value,
                            position_context,
                        )
                if result is Undefined:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background(
                    [results[field] for field in awaitable_fields]
                )
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(
                    *(results[field] for field in awaitable_fields)
                )
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


# Plans per schema (tests build many), then per type and field name.
_by_schema: "WeakKeyDictionary[GraphQLSchema, dict[str, dict[str, Any]]]" = (
    WeakKeyDictionary()
)


def _plans(schema: GraphQLSchema, parent: GraphQLObjectType) -> dict[str, Any]:
    by_type = _by_schema.get(schema)
    if by_type is None:
        by_type = _by_schema[schema] = {}
    plans = by_type.get(parent.name)
    if plans is None:
        plans = by_type[parent.name] = {}
    return plans


def lean_resolvers(schema: GraphQLSchema) -> int:
    """Call resolvers that take no argument straight, with their `self` and
    `info`, instead of through strawberry's argument conversion and extension
    chain; returns how many fields changed. Fields with arguments, extensions
    (permission classes are extensions) or exception handlers keep strawberry's
    resolver."""
    changed = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            lean = _lean(field)
            if lean is not None:
                field.resolve = lean
                changed += 1
    return changed


def _lean(field: GraphQLField) -> Callable[..., Any] | None:
    definition = (field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or field.args:
        return None
    resolver = definition.base_resolver
    if resolver is None or definition.extensions or resolver.arguments:
        return None
    if getattr(field.resolve, "__name__", "") not in {"_resolver", "_async_resolver"}:
        return None  # wrapped, e.g. by exception handlers
    if resolver.parent_parameter or resolver.root_parameter:
        return None  # rare here: keep strawberry's way of passing them
    function = cast("Callable[..., Any]", resolver.wrapped_func)
    with_self = resolver.self_parameter is not None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter else None

    if with_self and info_name:

        def resolve(source: Any, info: Any) -> Any:
            return function(source, **{info_name: Info(info, definition)})

    elif with_self:

        def resolve(source: Any, info: Any) -> Any:
            return function(source)

    elif info_name:

        def resolve(source: Any, info: Any) -> Any:
            return function(**{info_name: Info(info, definition)})

    else:

        def resolve(source: Any, info: Any) -> Any:
            return function()

    return resolve

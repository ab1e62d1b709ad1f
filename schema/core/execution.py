"""graphql-core's executor with shortcuts for the fields a list is made of.

A page of 100 customers resolves about 700 fields, most of them plain
attributes: an email, a balance, a name, a relay id. For each, graphql-core
builds a path and a resolve info, looks for arguments, calls strawberry's
resolver (eight frames for a field with a resolver) and dispatches the
completion on the field's type: 3-10 µs of Python for a getattr and a
serialize (research/stack.md §2).

Five shortcuts, each taken only where the result cannot differ:

- **Leaf fields** that strawberry would answer by reading an attribute (a
  "basic" field: no resolver, permission, extension, argument or middleware),
  and relay ids of nodes that keep strawberry's default `resolve_id`, are read
  and coerced in place: no path, no info, no resolver call.
- **Object fields** that are basic attributes (an edge's `node`) go straight to
  their sub-selection.
- **Resolvers that take only `self`** (synchronous, no argument, no extension)
  are called in place the same way, without a resolve info.
- **Other resolvers** without arguments or extensions are called directly with
  their `self`/`info`, not through strawberry's argument conversion and
  extension chain (`lean_resolvers`, applied once to the built schema).
- **Lists of objects** work their sub-selection out once (each field's plan
  and the steps of planned objects below it) and run every item through it;
  values already of the type a standard scalar returns (a str for String, an
  Int within 32 bits) and strawberry enum members need no coercion call.

Anything unusual (a null for a non-null field, a value that does not coerce,
an exception, an awaitable, a wrong type) goes back through graphql-core, which
raises the same located error it always did: an attribute read is pure, so
graphql-core reads it again; a resolver's result is handed over as it is, so
no resolver ever runs twice. An error below an object nulls the nearest
nullable field, as graphql-core does. tests/schema/test_execution.py compares
whole answers, errors included, and resolver calls with strawberry's own
executor.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import Any, cast

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    serialize_boolean,
    serialize_id,
    serialize_int,
    serialize_string,
)
from strawberry import relay
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.relay.utils import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

from schema.core.compiled import DONE, Runner, gathered, runner

DEFINITION = "strawberry-definition"
# Values that can never be awaitable or an exception: no check needed.
_PLAIN = frozenset({str, int, float, bool})


class Plan:
    """How to answer one field of one type without graphql-core's field
    machinery. `read` gets the value from the parent object: a plain attribute
    read (pure: graphql-core may read it again if anything is unusual), or a
    call to a resolver that takes only `self` (`calls`: it runs once, and
    graphql-core completes whatever it returned if anything is unusual)."""

    __slots__ = (
        "calls",
        "coerce",
        "enum_class",
        "enum_names",
        "field",
        "is_type_of",
        "non_null",
        "object_type",
        "pure_leaf",
        "read",
        "same",
    )

    def __init__(
        self,
        field: GraphQLField,
        read: Callable[[Any], Any],
        *,
        calls: bool,
        coerce: Callable[[Any], Any] | None = None,
        object_type: GraphQLObjectType | None = None,
        is_type_of: Callable[[Any, Any], Any] | None = None,
    ):
        self.field, self.read, self.calls = field, read, calls
        self.non_null = isinstance(field.type, GraphQLNonNull)
        self.coerce, self.object_type, self.is_type_of = coerce, object_type, is_type_of
        # A leaf read from an attribute: reading it again is harmless.
        self.pure_leaf = object_type is None and not calls
        # The one type the coercion returns unchanged (a str for String...).
        self.same = _SAME.get(coerce)
        self.enum_class, self.enum_names = _enum_table(field)

    def leaf(self, value: Any) -> Any:
        """A scalar or enum value coerced as graphql-core would, or Undefined
        when graphql-core must handle it (null for non-null, a failed coercion,
        an exception or an awaitable)."""
        kind = type(value)
        if kind is self.same and (
            kind is not int or GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
        ):
            return value
        if value is None:
            return Undefined if self.non_null else None
        if kind is self.enum_class:
            try:
                name = self.enum_names.get(value.value)  # type: ignore[union-attr]  # set with the class
            except TypeError:  # an unhashable value: the coercion decides
                name = None
            if name is not None:
                return name
        if type(value) not in _PLAIN and _unusual(value):
            return Undefined
        try:
            coerced = self.coerce(value)  # type: ignore[misc]  # set for leaves
        except Exception:
            return Undefined
        return Undefined if coerced is None or coerced is Undefined else coerced

    def object(self, value: Any) -> Any:
        """The object if it can go straight to its sub-selection (None for a
        null that is allowed), else Undefined."""
        if value is None:
            return Undefined if self.non_null else None
        return value if _plain_object(value, self.is_type_of) else Undefined


class Steps(list[tuple[str, Plan | None, Any, "Steps | None"]]):
    """Each field's response name, plan and nodes, and its sub-selection's
    steps; `run` answers one item through them (schema/core/compiled.py)."""

    __slots__ = ("run",)
    run: Runner


# Coercions that return a value of this exact type unchanged (graphql-core's
# serialize_int does so only within 32 bits).
_SAME: dict[Any, type] = {
    serialize_id: str,
    serialize_string: str,
    serialize_boolean: bool,
    serialize_int: int,
}


def _enum_table(field: GraphQLField) -> tuple[type | None, dict[Any, str] | None]:
    """For a strawberry enum: its class and, by member value, the name its
    coercion returns (the first name with that value, as it searches)."""
    field_type: Any = field.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    if not (
        isinstance(field_type, CustomGraphQLEnumType)
        and type(field_type).coerce_output_value is _ENUM_COERCION
        and isinstance(field_type.wrapped_cls, type)
    ):
        return None, None
    names: dict[Any, str] = {}
    try:
        for name, value in field_type.values.items():
            names.setdefault(value.value, name)
    except TypeError:  # an unhashable value: no table
        return None, None
    return field_type.wrapped_cls, names


def _weak_helpers(executor: Any) -> GraphQLResolveInfoHelpers:
    """graphql-core's resolver helpers without a reference to the executor:
    `gather` never needed it, `track` reaches it weakly (resolvers run inside
    it) and, should work be handed over once the request is over, settles
    that work in the background itself."""
    owner = weakref.ref(executor)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return gather_with_cancel(*values)

    def track(values: Sequence[Any]) -> None:
        live = owner()
        if live is not None:
            live.track_async_work(values)
            return
        pending = [value for value in values if optimized_is_awaitable(value)]
        if pending:
            settling = asyncio.ensure_future(
                asyncio.gather(*pending, return_exceptions=True)
            )
            _settling.add(settling)
            settling.add_done_callback(_settling.discard)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)


# Work handed to a finished request's helpers, kept until it settles.
_settling: set[asyncio.Future[Any]] = set()


def _plain_object(value: Any, is_type_of: Callable[[Any, Any], Any] | None) -> bool:
    """An object graphql-core would go straight into: not null, not an
    exception or awaitable, and of the type (strawberry's check ignores the
    info)."""
    return (
        value is not None
        and not _unusual(value)
        and (is_type_of is None or is_type_of(value, None) is True)
    )


def _unusual(value: Any) -> bool:
    """An exception or an awaitable (graphql-core's own test for awaitables)."""
    return isinstance(value, BaseException) or optimized_is_awaitable(value)


def plan_for(
    schema: GraphQLSchema, parent: GraphQLObjectType, name: str
) -> Plan | None:
    """How to answer field `name` of `parent` without graphql-core, if it can be."""
    field = schema.get_field(parent, name)
    if field is None or field.args:
        return None
    field_type: Any = field.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    definition = (field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or definition.directives:
        return None
    basic = _basic_read(field, definition)
    call = _self_only_call(field, definition)
    if is_leaf_type(field_type):
        if call is not None:
            return Plan(field, call, calls=True, coerce=field_type.coerce_output_value)
        read = basic or _relay_id_read(parent, definition)
        if read is None:
            return None
        return Plan(field, read, calls=False, coerce=field_type.coerce_output_value)
    if is_object_type(field_type) and (basic or call) is not None:
        is_type_of = field_type.is_type_of
        if is_type_of is not None and not _ignores_info(is_type_of):
            return None
        return Plan(
            field,
            call or basic,  # type: ignore[arg-type]  # one of them is set
            calls=call is not None,
            object_type=field_type,
            is_type_of=is_type_of,
        )
    return None


def _self_only_call(
    field: GraphQLField, definition: StrawberryField
) -> Callable[[Any], Any] | None:
    """A synchronous resolver that takes only `self` (no info, no argument, no
    extension), already called directly by `lean_resolvers`."""
    resolver = definition.base_resolver
    if resolver is None or definition.is_async or not _is_lean(field):
        return None
    if resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter:
        return None
    if resolver.self_parameter is None:
        return None
    return cast("Callable[[Any], Any]", resolver.wrapped_func)


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
        attribute = _node_id_attribute(type(source))  # type: ignore[arg-type]  # classes hash
        if attribute is None:
            raise LookupError("not a default relay node")  # back to graphql-core
        node_id = getattr(source, attribute)
        if node_id is None or hasattr(node_id, "__await__"):
            raise LookupError("not a plain id")
        # The text of relay.GlobalID(type_name, str(node_id)), which the ID
        # coercion would make of it, without building one per row.
        return to_base64(type_name, str(node_id))

    return read


@cache
def _node_id_attribute(kind: type) -> str | None:
    """The NodeID attribute of a node class that keeps strawberry's defaults."""
    if not (
        issubclass(kind, relay.Node)
        and kind.resolve_id.__func__ is _RESOLVE_ID  # type: ignore[attr-defined]
        and kind.resolve_typename.__func__ is _RESOLVE_TYPENAME  # type: ignore[attr-defined]
    ):
        return None
    return kind.resolve_id_attr()


_ENUM_COERCION = CustomGraphQLEnumType.coerce_output_value
_NODE_ID = relay.Node.__dict__["_id"].__func__
_RESOLVE_ID = relay.Node.resolve_id.__func__  # type: ignore[attr-defined]
_RESOLVE_TYPENAME = relay.Node.resolve_typename.__func__  # type: ignore[attr-defined]


def _plain_type_check(object_type: GraphQLObjectType) -> bool:
    """The type has no is_type_of, or strawberry's (which ignores the info)."""
    return object_type.is_type_of is None or _ignores_info(object_type.is_type_of)


def _ignores_info(is_type_of: Callable[..., Any]) -> bool:
    """Strawberry's generated is_type_of (an isinstance check) ignores the info."""
    return "_get_is_type_of" in getattr(is_type_of, "__qualname__", "")


class LadderExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with the shortcuts above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core hands resolvers helpers bound to the executor it keeps
        # them on: a reference cycle per request, so every request's execution
        # state (its context, principal and rows) waited for the garbage
        # collector, whose passes then took 15-30 ms under load (the p99 of
        # `me`). Weakly bound, it is freed when the request ends.
        self.async_helpers = _weak_helpers(self)

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
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                plan = self._plan(parent_type, field_details_list)
                if plan is None:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                else:
                    result = self._planned(
                        plan,
                        parent_type,
                        source_value,
                        field_details_list,
                        path,
                        response_name,
                        position_context,
                    )
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background(
                    [results[field] for field in awaitable_fields]
                )
            raise
        return gathered(results, awaitable_fields)

    def _plan(
        self, parent_type: GraphQLObjectType, field_details_list: Any
    ) -> Plan | None:
        plans = _plans(parent_type)
        name = field_details_list[0].node.name.value
        plan = plans.get(name, Undefined)
        if plan is Undefined:
            plan = plans[name] = plan_for(self.schema, parent_type, name)
        return cast("Plan | None", plan)

    def _planned(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path | None,
        response_name: str,
        position_context: Any,
        below: Steps | None = None,
    ) -> Any:
        """One field through its plan; graphql-core takes over what is unusual.
        `below`: the object's sub-selection, worked out once for a list."""
        try:
            value = plan.read(source)
        except Exception as error:
            if plan.calls:
                return self._raised(
                    plan, parent_type, field_details_list, path, response_name, error
                )
            value = Undefined  # a pure read: graphql-core reads it again
        return self._answer(
            plan,
            parent_type,
            source,
            field_details_list,
            path,
            response_name,
            position_context,
            below,
            value,
        )

    def _raised(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path | None,
        response_name: str,
        error: Exception,
    ) -> None:
        """A resolver that ran and raised, reported as graphql-core would."""
        field_path = Path(path, response_name, parent_type.name)
        self.handle_field_error(error, plan.field.type, field_details_list, field_path)

    def _answer(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path | None,
        response_name: str,
        position_context: Any,
        below: Steps | None,
        value: Any,
    ) -> Any:
        """`_planned` once the value is read (Undefined: not read)."""
        if value is not Undefined:
            if plan.object_type is None:
                result = plan.leaf(value)
                if result is not Undefined:
                    return result
            else:
                found = plan.object(value)
                if found is None:
                    return None
                if found is not Undefined:
                    return self._sub_selection(
                        plan,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        found,
                        position_context,
                        below,
                    )
        field_path = Path(path, response_name, parent_type.name)
        if plan.calls and value is not Undefined:
            return self._complete(
                plan,
                parent_type,
                field_details_list,
                field_path,
                value,
                position_context,
            )
        return self.execute_field(
            parent_type, source, field_details_list, field_path, position_context
        )

    def _sub_selection(
        self,
        plan: Plan,
        field_details_list: Any,
        path: Path,
        value: Any,
        position_context: Any,
        below: Steps | None,
    ) -> Any:
        """An object's sub-selection (through its steps when a list worked
        them out), with execute_field's error handling: an error below a
        nullable object nulls that object."""
        return_type = plan.field.type
        object_type: GraphQLObjectType = plan.object_type  # type: ignore[assignment]  # set for objects
        try:
            completed = (
                self._subfields(
                    object_type, field_details_list, path, value, position_context
                )
                if below is None
                else self._run(object_type, below, value, path)
            )
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        return self._guarded(completed, return_type, field_details_list, path)

    def _subfields(
        self,
        object_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """collect_and_execute_subfields, straight to execute_fields when
        nothing is deferred (what graphql-core's incremental executor does
        then, two calls further down)."""
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages or position_context is not None:
            return self.collect_and_execute_subfields(
                object_type, field_details_list, path, value, position_context
            )
        return self.execute_fields(object_type, value, path, grouped_field_set, None)

    def _steps(
        self, object_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Steps | None:
        """The sub-selection worked out once for all the items of a list: each
        field's plan and, for planned objects, their own steps. None where
        execute_fields would defer to graphql-core (middleware)."""
        manager = self.middleware_manager
        if manager is not None and manager._middleware_resolvers is not None:
            return None
        steps = Steps()
        for response_name, field_details_list in grouped_field_set.items():
            plan = self._plan(object_type, field_details_list)
            below: Steps | None = None
            if plan is not None and plan.object_type is not None:
                grouped, new_defer_usages, _ = self.collect_subfields(
                    plan.object_type, field_details_list
                )
                if not new_defer_usages:
                    below = self._steps(plan.object_type, grouped)
            steps.append((response_name, plan, field_details_list, below))
        steps.run = runner(steps)
        return steps

    def _run(
        self, object_type: GraphQLObjectType, steps: Steps, source: Any, path: Path
    ) -> Any:
        """execute_fields over steps worked out in advance: leaves coerced and
        planned objects entered in place, the rest as execute_fields does it
        (unrolled into one function per selection: schema/core/compiled.py)."""
        return steps.run(self, object_type, steps, source, path)

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        """graphql-core's complete_iterable_value (3.3), with a shortcut for a
        list of objects (a page's edges) when nothing is streamed or deferred."""
        object_type = item_type.of_type if is_non_null_type(item_type) else item_type
        if (
            position_context is None
            and is_object_type(object_type)
            and _plain_type_check(object_type)
            and self.get_stream_usage(field_details_list, path) is None
        ):
            grouped_field_set, new_defer_usages, _ = self.collect_subfields(
                object_type, field_details_list
            )
            if not new_defer_usages:
                return self._complete_objects(
                    object_type,
                    grouped_field_set,
                    item_type,
                    field_details_list,
                    info,
                    path,
                    items,
                )
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _complete_objects(
        self,
        object_type: GraphQLObjectType,
        grouped_field_set: GroupedFieldSet,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Iterable[Any],
    ) -> Any:
        """Each ordinary item straight to its sub-selection, collected once for
        the list; an unusual item (null, an exception, an awaitable, a wrong
        type) completed by graphql-core as before."""
        is_type_of = object_type.is_type_of
        is_awaitable = self.is_awaitable
        steps = self._steps(object_type, grouped_field_set)
        results: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                if not _plain_object(item, is_type_of):
                    if is_awaitable(item):
                        results.append(
                            self.complete_awaitable_list_item_value(
                                item,
                                item_type,
                                field_details_list,
                                info,
                                item_path,
                                None,
                            )
                        )
                        awaitable_indices.append(index)
                    elif self.complete_list_item_value(
                        item,
                        results,
                        item_type,
                        field_details_list,
                        info,
                        item_path,
                        None,
                    ):
                        awaitable_indices.append(index)
                    continue
                try:
                    completed = (
                        self.execute_fields(
                            object_type, item, item_path, grouped_field_set, None
                        )
                        if steps is None
                        else self._run(object_type, steps, item, item_path)
                    )
                except Exception as error:
                    self.handle_field_error(
                        error, item_type, field_details_list, item_path
                    )
                    completed = None
                completed = self._guarded(
                    completed, item_type, field_details_list, item_path
                )
                results.append(completed)
                if type(completed) not in DONE and is_awaitable(completed):
                    awaitable_indices.append(index)
        except Exception:
            # As graphql-core: what is already running settles in the background.
            if awaitable_indices:
                self.settle_in_background([results[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return results

        async def get_results() -> list[Any]:
            awaited = await gather_with_cancel(
                *(results[index] for index in awaitable_indices)
            )
            for index, value in zip(awaitable_indices, awaited, strict=True):
                results[index] = value
            return results

        return get_results()

    def _complete(
        self,
        plan: Plan,
        parent_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """What a resolver returned, completed by graphql-core exactly as
        execute_field completes it (the resolver is not called again)."""
        return_type = plan.field.type
        info = self.build_resolve_info(
            plan.field, to_nodes(field_details_list), parent_type, path
        )
        try:
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type,
                    field_details_list,
                    info,
                    path,
                    result,
                    position_context,
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        except Exception as error:
            self.handle_field_error(error, return_type, field_details_list, path)
            return None
        return self._guarded(completed, return_type, field_details_list, path)

    def _guarded(
        self, completed: Any, return_type: Any, field_details_list: Any, path: Path
    ) -> Any:
        """A completion, with an error raised while awaiting it handled as
        execute_field handles it."""
        if type(completed) in DONE or not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as error:
                self.handle_field_error(error, return_type, field_details_list, path)
                return None

        return await_completed()


def _plans(parent: GraphQLObjectType) -> dict[str, Any]:
    """The plans of a type's fields, kept on the type: it belongs to one schema."""
    plans: dict[str, Any] | None = parent.__dict__.get("_ladder_plans")
    if plans is None:
        plans = parent._ladder_plans = {}  # type: ignore[attr-defined]
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

    resolve._ladder_lean = True  # type: ignore[attr-defined]  # see _is_lean
    return resolve


def _is_lean(field: GraphQLField) -> bool:
    """`lean_resolvers` replaced this field's resolver."""
    return getattr(field.resolve, "_ladder_lean", False) is True

"""The executor's shortcuts (schema/core/execution.py) answer exactly as
strawberry's own executor does: same data, same errors at the same paths,
including every case that must fall back to graphql-core."""

import asyncio
import gc
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry import relay

from schema.core.execution import (
    LadderExecutionContext,
    _weak_helpers,
    lean_resolvers,
    plan_for,
)


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Raising:
    """An attribute that fails when read."""

    def __get__(self, obj: object, owner: type) -> str:
        if obj is None:
            return "unused"
        raise ValueError("cannot read this")


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    count: int
    colour: Colour
    when: float
    flag: bool = True

    @strawberry.field
    async def late(self) -> str:
        await asyncio.sleep(0)
        raise RuntimeError("late failure")


@strawberry.type
class Item(relay.Node):
    id: relay.NodeID[str]
    name: str
    # Basic fields holding what the shortcut must hand back to graphql-core.
    required: str
    leaf: Leaf
    optional_leaf: Leaf | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return ".".join(str(p) for p in info.path.as_list())

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        await asyncio.sleep(0)
        return f"{self.name} {info.field_name}"

    @strawberry.field
    def fails(self) -> str | None:
        raise RuntimeError("resolver failed")

    @strawberry.field
    def double(self) -> Leaf:
        CALLS.append(self.name)
        return self.leaf

    @strawberry.field
    def double_or_nothing(self) -> Leaf | None:
        CALLS.append(self.name)
        return self.optional_leaf

    @strawberry.field
    def broken_leaf(self) -> Leaf | None:
        CALLS.append(self.name)
        raise RuntimeError("object resolver failed")


@strawberry.type
class Custom(relay.Node):
    """A node with its own id: the shortcut must leave it to strawberry."""

    code: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root: "Custom", *, info: strawberry.Info) -> str:
        return f"custom-{root.code}"


def _item(name: str, **overrides: Any) -> Item:
    values: dict[str, Any] = {
        "id": f"id-{name}",
        "name": name,
        "required": f"req-{name}",
        "leaf": Leaf(name=name, maybe=None, count=3, colour=Colour.RED, when=1.5),
        "optional_leaf": None,
    }
    values.update(overrides)
    return Item(**values)


def _leaf(**overrides: Any) -> Leaf:
    """A leaf with some values its type does not allow."""
    values: dict[str, Any] = {
        "name": "n",
        "maybe": None,
        "count": 1,
        "colour": Colour.RED,
        "when": 0.0,
    }
    return Leaf(**{**values, **overrides})


class Wrong:
    """Not an Item: returned where an Item is due."""

    name = "wrong"


async def _coroutine_value() -> str:
    return "awaited"


ITEMS: list[Any] = []
CALLS: list[str] = []  # names of the items whose resolvers ran


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def maybe_items(self) -> list[Item | None] | None:
        return ITEMS

    @strawberry.field
    def customs(self) -> list[Custom]:
        return [Custom(code="a"), Custom(code="b")]

    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [item.leaf for item in ITEMS if isinstance(item, Item)]


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    reference = strawberry.Schema(query=Query)
    fast = strawberry.Schema(
        query=Query, execution_context_class=LadderExecutionContext
    )
    assert lean_resolvers(fast._schema) > 0
    return reference, fast


DOCUMENT = """
{ items { id name required shout path later fails
          leaf { name maybe count colour when } optionalLeaf { name colour count flag }
          double { name colour } doubleOrNothing { name colour }
          brokenLeaf { name } } }
"""


def _set_items(items: list[Any]) -> None:
    ITEMS.clear()
    ITEMS.extend(items)


async def _both(document: str) -> tuple[dict[str, Any], dict[str, Any]]:
    reference, fast = _schemas()
    CALLS.clear()
    expected = await reference.execute(document)
    reference_calls = sorted(CALLS)
    CALLS.clear()
    got = await fast.execute(document)
    # Resolvers run exactly as often: a shortcut never calls one again.
    assert sorted(CALLS) == reference_calls
    return _plain(expected), _plain(got)


def _plain(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [{"message": e.message, "path": e.path} for e in result.errors or []],
    }


async def test_plain_rows_answer_the_same() -> None:
    _set_items([_item("a"), _item("b", optional_leaf=_item("x").leaf)])
    expected, got = await _both(DOCUMENT)
    assert got == expected
    assert got["data"]["items"][1]["optionalLeaf"] == {
        "name": "x",
        "colour": "RED",
        "count": 3,
        "flag": True,
    }
    assert got["data"]["items"][0]["path"] == "items.0.path"  # info reaches resolvers
    # The resolver error is reported at its own path on both.
    assert {"message": "resolver failed", "path": ["items", 0, "fails"]} in got[
        "errors"
    ]
    assert {
        "message": "object resolver failed",
        "path": ["items", 1, "brokenLeaf"],
    } in got["errors"]
    assert got["data"]["items"][1]["brokenLeaf"] is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"required": None},  # null for a non-null leaf
        {"name": 7},  # a value that does not coerce to String
        {"required": Raising()},  # reading raises
        {"leaf": None},  # null for a non-null object
        {"leaf": Wrong()},  # an object of the wrong type
        {"optional_leaf": Wrong()},
        # A non-null field failing inside a nullable object nulls that object.
        {"optional_leaf": _leaf(name=None)},
        {"optional_leaf": _leaf(colour=None)},
        {"optional_leaf": _leaf(count=2**31)},  # beyond a 32-bit Int
        {"optional_leaf": _leaf(count="three")},
        {"optional_leaf": _leaf(flag="yes")},
        {"optional_leaf": _leaf(colour="purple")},
    ],
    ids=[
        "null",
        "no-coerce",
        "raises",
        "null-object",
        "wrong-type",
        "wrong-optional",
        "child-null-in-optional",
        "child-enum-null-in-optional",
        "int-too-big",
        "int-from-text",
        "bool-from-text",
        "enum-unknown",
    ],
)
async def test_unusual_values_fail_as_strawberry_does(
    overrides: dict[str, Any],
) -> None:
    bad = _item("bad")
    for attribute, value in overrides.items():
        if isinstance(value, Raising):
            # A property on a subclass: the instance attribute cannot raise.
            bad = type("BadItem", (Item,), {attribute: value})(
                **{**_item("bad").__dict__, attribute: "unused"}
            )
        else:
            object.__setattr__(bad, attribute, value)
    _set_items([_item("ok"), bad])
    expected, got = await _both(DOCUMENT)
    assert got == expected
    assert expected["errors"]  # the case is a real error, not a no-op


async def test_an_async_failure_below_a_planned_object_nulls_that_object() -> None:
    # `late` fails after an await, below a planned read (optionalLeaf) and a
    # planned resolver call (doubleOrNothing), in every item of a list
    _set_items([_item("a", optional_leaf=_leaf()), _item("b", optional_leaf=_leaf())])
    expected, got = await _both(
        "{ items { name optionalLeaf { name late } doubleOrNothing { late } } }"
    )
    assert got == expected
    assert got["data"]["items"][0] == {
        "name": "a",
        "optionalLeaf": None,
        "doubleOrNothing": None,
    }
    assert {
        "message": "late failure",
        "path": ["items", 1, "optionalLeaf", "late"],
    } in (got["errors"])


async def test_errors_propagate_to_the_nearest_nullable_parent() -> None:
    bad = _item("bad")
    object.__setattr__(bad, "required", None)
    _set_items([_item("ok"), bad])
    expected, got = await _both("{ maybeItems { name required } }")
    assert got == expected
    assert got["data"]["maybeItems"][1] is None


async def _awaited_item(name: str) -> Item:
    await asyncio.sleep(0)
    return _item(name)


async def _failing_item() -> Item:
    raise RuntimeError("item failed")


@pytest.mark.parametrize(
    "unusual",
    [
        lambda: None,  # null where an item is due
        Wrong,  # an object of the wrong type
        lambda: RuntimeError("an error as an item"),
        lambda: _awaited_item("later"),  # an awaitable item
        _failing_item,  # an awaitable item that fails
    ],
    ids=["null", "wrong-type", "exception", "awaitable", "failing-awaitable"],
)
@pytest.mark.parametrize("field", ["items", "maybeItems"])
async def test_unusual_list_items_complete_as_strawberry_does(
    unusual: Any, field: str
) -> None:
    reference, fast = _schemas()
    document = f"{{ {field} {{ name shout leaf {{ name }} }} }}"
    answers = []
    for schema in (reference, fast):
        # Fresh items per schema: an awaitable can be awaited only once.
        _set_items([_item("a"), unusual(), _item("b")])
        answers.append(_plain(await schema.execute(document)))
    expected, got = answers
    assert got == expected
    assert got["data"] is None or got["data"][field][0]["name"] == "a"


async def test_awaitable_in_a_plain_attribute_is_awaited() -> None:
    slow = _item("slow")
    object.__setattr__(slow, "required", None)
    _set_items([slow])
    reference, fast = _schemas()
    # A coroutine per schema: each may only be awaited once.
    object.__setattr__(slow, "required", _coroutine_value())
    expected = _plain(await reference.execute("{ items { required } }"))
    object.__setattr__(slow, "required", _coroutine_value())
    got = _plain(await fast.execute("{ items { required } }"))
    assert (
        got == expected == {"data": {"items": [{"required": "awaited"}]}, "errors": []}
    )


async def test_relay_ids_and_custom_ids() -> None:
    _set_items([_item("a")])
    expected, got = await _both("{ items { id } customs { id } }")
    assert got == expected
    assert got["data"]["items"][0]["id"] == relay.to_base64("Item", "id-a")
    assert got["data"]["customs"][0]["id"] == relay.to_base64("Custom", "custom-a")


async def test_enums_and_numbers() -> None:
    _set_items([_item("a"), _item("b")])
    object.__setattr__(ITEMS[1].leaf, "colour", Colour.BLUE)
    expected, got = await _both("{ leaves { colour count when maybe } }")
    assert got == expected
    assert [leaf["colour"] for leaf in got["data"]["leaves"]] == ["RED", "BLUE"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"count": True},  # a bool where an Int is due: 1
        {"count": 4.0},
        {"count": -(2**31)},  # the smallest 32-bit Int
        {"flag": 1},
        {"colour": "blue"},  # the enum's value rather than its member
        {"name": 7},
    ],
    ids=[
        "int-from-bool",
        "int-from-float",
        "int-min",
        "bool-from-int",
        "enum-value",
        "str-from-int",
    ],
)
async def test_values_that_coerce_answer_as_strawberry_does(
    overrides: dict[str, Any],
) -> None:
    item = _item("a", optional_leaf=_leaf(**overrides))
    _set_items([_item("ok"), item])
    expected, got = await _both("{ items { optionalLeaf { name count colour flag } } }")
    assert got == expected
    assert not expected["errors"]  # coerced, not refused


async def test_aliases_and_repeated_fields_keep_the_document_order() -> None:
    _set_items([_item("a")])
    document = "{ items { b: name id a: name shout name } }"
    expected, got = await _both(document)
    assert got == expected
    assert list(got["data"]["items"][0]) == ["b", "id", "a", "shout", "name"]


async def test_skip_and_include() -> None:
    _set_items([_item("a")])
    document = (
        "query($no: Boolean!) { items { name @skip(if: $no) id @include(if: $no) } }"
    )
    reference, fast = _schemas()
    for no in (True, False):
        expected = _plain(await reference.execute(document, variable_values={"no": no}))
        got = _plain(await fast.execute(document, variable_values={"no": no}))
        assert got == expected


def test_the_shortcuts_are_taken_where_they_apply() -> None:
    """Otherwise the tests above would compare strawberry with itself."""
    _, fast = _schemas()
    schema = fast._schema
    item = schema.get_type("Item")
    assert isinstance(item, GraphQLObjectType)

    def kind(name: str) -> str:
        plan = plan_for(schema, item, name)
        if plan is None:
            return "graphql-core"
        shape = "leaf" if plan.object_type is None else "object"
        return f"{shape} {'call' if plan.calls else 'read'}"

    assert {name: kind(name) for name in item.fields} == {
        "id": "leaf read",
        "name": "leaf read",
        "required": "leaf read",
        "leaf": "object read",
        "optionalLeaf": "object read",
        "shout": "leaf call",  # takes only self
        "double": "object call",
        "doubleOrNothing": "object call",
        "brokenLeaf": "object call",
        "fails": "leaf call",
        "path": "graphql-core",  # takes info: called lean, through graphql-core
        "later": "graphql-core",  # async
    }
    assert getattr(item.fields["path"].resolve, "__name__", "") == "resolve"


async def test_ordinary_list_items_skip_graphql_cores_item_completion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    completed: list[object] = []
    original = LadderExecutionContext.complete_list_item_value

    def counting(self: Any, item: Any, *args: Any) -> Any:
        completed.append(item)
        return original(self, item, *args)

    monkeypatch.setattr(LadderExecutionContext, "complete_list_item_value", counting)
    odd = Wrong()
    _set_items([_item("a"), odd, _item("b")])
    _, fast = _schemas()
    await fast.execute("{ maybeItems { name } }")
    assert completed == [odd]  # only the unusual item went through graphql-core


async def test_a_lists_sub_selection_is_collected_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each item's objects reuse the steps worked out for the list."""
    collected: list[str] = []
    original = LadderExecutionContext.collect_subfields

    def counting(self: Any, return_type: Any, *args: Any) -> Any:
        collected.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(LadderExecutionContext, "collect_subfields", counting)
    _set_items([_item(name) for name in "abcd"])
    _, fast = _schemas()
    result = await fast.execute("{ items { name leaf { name } double { count } } }")
    assert not result.errors
    assert sorted(collected) == ["Item", "Leaf", "Leaf"]


async def test_resolver_helpers_outlive_their_executor() -> None:
    """The helpers reach the executor weakly; work handed over after it is
    gone still runs to its end, and gathering never needed it."""
    tracked: list[object] = []

    class Executor:
        def track_async_work(self, values: list[object]) -> None:
            tracked.extend(values)

    executor = Executor()
    helpers = _weak_helpers(executor)
    helpers.track([1])
    assert tracked == [1]
    del executor
    gc.collect()

    done: list[str] = []

    async def work() -> None:
        done.append("settled")

    helpers.track([work()])
    assert await helpers.gather([asyncio.sleep(0, "a"), asyncio.sleep(0, "b")]) == [
        "a",
        "b",
    ]
    await asyncio.sleep(0.01)
    assert done == ["settled"]

"""A list's sub-selection as one generated function.

`LadderExecutionContext._run` answered each item of a list with a loop over
the sub-selection's steps. For a plain leaf (most of a page: an id, an email,
a balance) the loop cost more than the read: the step unpacked, the plan's
attributes looked up, a method call to coerce a value that is already a
`str`, a check for awaitables on a result that cannot be one. The function
generated here runs the same steps unrolled: each leaf is read and, when its
value is of the exact type its coercion returns unchanged, stored as it is;
anything else takes the loop's path for that step (`Plan.leaf`, then
graphql-core); planned objects (an edge's node, a customer's tier) have
their sub-selection run in place, and every other step goes where the loop
sent it (its plan through `_planned`, else graphql-core). The answers, errors and resolver
calls are the loop's: the equivalence tests in tests/schema/test_execution*.py
run through it.
"""

from collections.abc import Callable, Sequence
from typing import Any

from cachetools import LRUCache
from graphql import Undefined
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT

# Results that are never awaitable: no check needed (as in execution.py).
DONE = frozenset({dict, str, int, bool, float, type(None), list})

Runner = Callable[[Any, Any, Any, Any, Any], Any]
# Generated once per selection shape (response names and plans); bounded, as
# aliases make the shapes a client can send unbounded.
_runners: LRUCache[tuple[Any, ...], Runner] = LRUCache(maxsize=256)


def runner(steps: Sequence[tuple[str, Any, Any, Any]]) -> Runner:
    """The function answering one item through `steps`:
    `run(executor, object_type, steps, source, path)`."""
    key = tuple((name, plan) for name, plan, _, _ in steps)
    found = _runners.get(key)
    if found is None:
        found = _runners[key] = _generate(steps)
    return found


def _generate(steps: Sequence[tuple[str, Any, Any, Any]]) -> Runner:
    namespace: dict[str, Any] = {
        "U": Undefined,
        "DONE": DONE,
        "Path": Path,
        "MIN": GRAPHQL_MIN_INT,
        "MAX": GRAPHQL_MAX_INT,
        "gathered": gathered,
    }
    body: list[str] = []
    for index, (name, plan, _, _) in enumerate(steps):
        namespace[f"N{index}"] = name
        if plan is None:
            body += _unplanned(index)
            continue
        namespace[f"P{index}"] = plan
        if plan.object_type is not None:
            namespace[f"obj{index}"] = plan.object
            namespace[f"OT{index}"] = plan.object_type
            namespace[f"RT{index}"] = plan.field.type
            namespace[f"read{index}"] = plan.read
            body += _object(index, calls=plan.calls)
            continue
        if not plan.pure_leaf:
            body += _planned(index)
            continue
        namespace[f"read{index}"] = plan.read
        namespace[f"leaf{index}"] = plan.leaf
        body += _leaf(index, plan.same, namespace)
    source = "\n".join(
        [
            "def run(ctx, object_type, steps, source, path):",
            "    results = {}",
            "    aw = []",
            "    is_awaitable = ctx.is_awaitable",
            "    try:",
            *(f"        {line}" for line in body),
            "    except Exception:",
            "        if aw:",
            "            ctx.settle_in_background([results[f] for f in aw])",
            "        raise",
            "    return gathered(results, aw)",
        ]
    )
    exec(compile(source, "<ladder selection>", "exec"), namespace)  # noqa: S102 - generated from plans, no client text
    return namespace["run"]  # type: ignore[no-any-return]


def _unplanned(index: int) -> list[str]:
    """A field without a plan: graphql-core's."""
    return ["r = U", *_by_graphql_core(index), *_kept(index)]


def _planned(index: int) -> list[str]:
    """A planned leaf that calls a resolver: the loop's body for it, in place."""
    return [
        f"r = ctx._planned(P{index}, object_type, source, steps[{index}][2], path,"
        f" N{index}, None, steps[{index}][3])",
        *_by_graphql_core(index),
        *_kept(index),
    ]


def _object(index: int, *, calls: bool) -> list[str]:
    """A planned object (an edge's node, a customer's tier): read, then its
    sub-selection run in place, with `_sub_selection`'s error handling;
    anything unusual goes to `_answer` with the value read (a resolver is
    never called twice)."""
    fields = f"steps[{index}][2]"
    raised = (
        f"    r = ctx._raised(P{index}, object_type, {fields}, path, N{index}, error)"
        if calls
        else "    r = U  # a pure read: graphql-core reads it again, below"
    )
    return [
        "try:",
        f"    v = read{index}(source)",
        "except Exception as error:",
        raised,
        "else:",
        f"    below = steps[{index}][3]",
        f"    o = U if below is None else obj{index}(v)",
        "    if o is None:",
        "        r = None",
        "    elif o is U:",
        f"        r = ctx._answer(P{index}, object_type, source, {fields}, path,"
        f" N{index}, None, below, v)",
        "    else:",
        f"        p = Path(path, N{index}, object_type.name)",
        "        try:",
        f"            r = below.run(ctx, OT{index}, below, o, p)",
        "        except Exception as error:",
        f"            ctx.handle_field_error(error, RT{index}, {fields}, p)",
        "            r = None",
        "        else:",
        "            if type(r) not in DONE:",
        f"                r = ctx._guarded(r, RT{index}, {fields}, p)",
        *_by_graphql_core(index),
        *_kept(index),
    ]


def _leaf(index: int, same: type | None, namespace: dict[str, Any]) -> list[str]:
    """A plain leaf: stored as read when of the type its coercion returns
    unchanged (an Int within 32 bits), else coerced by its plan, else
    answered by graphql-core."""
    read = [
        "try:",
        f"    v = read{index}(source)",
        "except Exception:",
        "    v = U",
    ]
    coerced = [
        "try:",
        f"    r = U if v is U else leaf{index}(v)",
        "except Exception:",
        "    r = U",
        *_by_graphql_core(index),
        *_kept(index),
    ]
    if same is None:
        return read + coerced
    namespace[f"S{index}"] = same
    check = f"type(v) is S{index}"
    if same is int:
        check += " and MIN <= v <= MAX"
    return [
        *read,
        f"if {check}:",
        f"    results[N{index}] = v",
        "else:",
        *(f"    {line}" for line in coerced),
    ]


def _by_graphql_core(index: int) -> list[str]:
    """What the plan could not answer (`r` Undefined), graphql-core answers."""
    return [
        "if r is U:",
        f"    r = ctx.execute_field(object_type, source, steps[{index}][2],"
        f" Path(path, N{index}, object_type.name), None)",
    ]


def _kept(index: int) -> list[str]:
    """`r` in the results unless the field is left out; noted if awaitable."""
    return [
        "if r is not U:",
        f"    results[N{index}] = r",
        "    if type(r) not in DONE and is_awaitable(r):",
        f"        aw.append(N{index})",
    ]


def gathered(results: dict[str, Any], awaitable_fields: list[str]) -> Any:
    """The results, once their awaitable fields are in (graphql-core's way)."""
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

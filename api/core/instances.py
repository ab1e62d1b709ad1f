"""New model instances, made as tortoise's `Model(**values)` makes them, faster.

`Model.__init__` decides per value and per missing field what to do (is it a
relation, is its default a coroutine function, a callable, a constant...) and
sets each attribute through `Model.__setattr__`: about 19 µs of CPU for an
order's row, against 7 µs here (`python -m bench.orm`), and a paid order makes
three such rows. `new` decides once per model and writes the attributes
directly. tests/api/core/test_instances.py checks it against tortoise's own
`__init__` for every model.
"""

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from functools import cache
from inspect import iscoroutinefunction
from typing import Any, TypeVar

from tortoise.fields import Field
from tortoise.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class _Blueprint:
    # A given value's conversion (`to_python_value`) and whether None is allowed.
    fields: dict[str, tuple[Callable[[Any], Any], bool]]
    # Every other field's default, made anew for each instance.
    defaults: tuple[tuple[str, Callable[[], Any]], ...]
    # Keys only tortoise's own path handles (relations, generated keys...).
    slow: frozenset[str]


def new(model: type[M], /, **values: Any) -> M:
    """`model(**values)`, the same attributes with the same values and types."""
    # Before tortoise has set the models up, their fields are not all known
    # yet: nothing is kept from then.
    blueprint = _blueprint(model) if model._meta._inited else None
    if blueprint is None or not blueprint.slow.isdisjoint(values):
        return model(**values)
    instance = bare(model, saved=False)
    attributes = instance.__dict__
    fields = blueprint.fields
    for key, value in values.items():
        known = fields.get(key)
        if known is None:
            continue  # tortoise ignores what is not a field too
        convert, nullable = known
        if value is None and not nullable:
            raise ValueError(f"{key} is non nullable field, but null was passed")
        attributes[key] = convert(value)
    for key, default in blueprint.defaults:
        if key not in values:
            attributes[key] = default()
    return instance


def bare(
    model: type[M], *, saved: bool, partial: bool = False, custom_pk: bool = False
) -> M:
    """An instance with only tortoise's own state set, as `Model.__init__`
    (new) and `Model._init_from_db` (`saved`) set it; the caller writes its
    fields into `__dict__`."""
    instance = model.__new__(model)
    state = instance.__dict__
    state["_partial"] = partial
    state["_saved_in_db"] = saved
    state["_custom_generated_pk"] = custom_pk
    state["_await_when_save"] = {}
    return instance


@cache
def _blueprint(model: type[Model]) -> _Blueprint | None:
    """None: the model has a coroutine default, kept for its save."""
    meta = model._meta
    # Relations, set through their descriptors, and keys the database
    # generates take tortoise's path.
    slow = {
        *meta.fk_fields,
        *meta.o2o_fields,
        *meta.backward_fk_fields,
        *meta.backward_o2o_fields,
        *meta.m2m_fields,
    }
    fields: dict[str, tuple[Callable[[Any], Any], bool]] = {}
    for key in meta.fields_db_projection:
        field = meta.fields_map[key]
        if field.pk and field.generated:
            slow.add(key)
        fields[key] = (field.to_python_value, field.null)
    defaults = []
    for key in meta.fields - meta.fetch_fields:
        field = meta.fields_map[key]
        if iscoroutinefunction(field.default):
            return None
        defaults.append((key, _default_of(field)))
    return _Blueprint(fields, tuple(defaults), frozenset(slow))


def _default_of(field: Field[Any]) -> Callable[[], Any]:
    """What `Model.__init__` sets a field to when no value is given."""
    default = field.default
    if callable(default):
        return default  # type: ignore[no-any-return]
    if default is not None:
        if isinstance(default, (int, float, str, bool, bytes)):
            return lambda: default
        return lambda: deepcopy(default)
    if field.has_db_default():
        return field.get_db_default_value
    return lambda: None

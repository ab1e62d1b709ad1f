from pathlib import Path

import schema
from schema import sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert committed == sdl(), (
        "run `ladder schema export` and commit schema/schema.graphql"
    )


def test_schema_package_is_ours() -> None:
    # `schema` is also a PyPI name; make sure nothing shadows our package.
    assert Path(schema.__file__).resolve().parent == ROOT / "schema"


def test_every_type_and_field_is_described() -> None:
    built = schema.build_schema()._schema
    missing = []
    for name, graphql_type in built.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
        for value_name, value in getattr(graphql_type, "values", {}).items():
            if not value.description:
                missing.append(f"{name}.{value_name}")
    assert missing == []


def test_model_descriptions_have_no_semicolons() -> None:
    # tortoise splits migration SQL on ";", and docstrings become table comments.
    from api.db import MODEL_MODULES

    for module in MODEL_MODULES:
        text = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith('"""') or "description=" in stripped:
                assert ";" not in stripped, f"{module}: {stripped}"

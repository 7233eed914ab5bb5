"""Response shapes that PostgreSQL renders: a pydantic model whose every key carries the SQL
expression that computes it. The model is the OpenAPI schema; `select_list` is the SELECT
list that `row_to_json` turns into exactly that object, key by key in the model's order."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Sql:
    """How a key is computed from the row the shape is rendered from."""

    expression: str


def select_list(model: type[BaseModel]) -> str:
    columns = []
    for name, field in model.model_fields.items():
        (sql,) = (item for item in field.metadata if isinstance(item, Sql))
        columns.append(f"{sql.expression} AS {name}")
    return ", ".join(columns)

"""SQL of our own where the ORM's compiling costs more than the query.

``IdIn``: ``column IN (ids)`` for a long list of ids, compiled in one step.

Django's ``__in`` prepares, normalises and places each id on its own (about 15 µs an id, every
time the query is compiled: 2 to 3 ms for a district's 150 schools, on each query of a page that
filters by them). ``IdIn`` takes the list as it is: on PostgreSQL one array parameter
(``= ANY(%s)``, which the planner treats as the same IN list), elsewhere one placeholder an id.
The ids must be ints (they come from our own queries, never from a request).

``quoted`` and ``ModelColumns``: for the few queries every request makes (the scope, the unread count),
SQL written from the models' fields and run as it is; compiling the same queryset took Django several
times as long as PostgreSQL took to run it.
"""

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Lookup, Model


class IdIn(Lookup):
    lookup_name = "id_in"
    prepare_rhs = False

    def __init__(self, column: str, ids):
        super().__init__(F(column), [int(pk) for pk in ids])

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", (*params, *self.rhs)

    def as_postgresql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, self.rhs)


def quoted(model: type[Model], *fields: str) -> tuple[str, ...]:
    """The model's table and the named fields' columns, quoted."""
    qn, meta = connection.ops.quote_name, model._meta
    return (qn(meta.db_table), *(qn(meta.get_field(name).column) for name in fields))


class ModelColumns:
    """One model's columns in a SELECT written by hand (``alias``: its table's alias there): their SQL, and the
    instance a row's values from ``start`` on make, through the same converters the ORM applies (SQLite's dates,
    for one); None where the row joined none (its primary key NULL)."""

    def __init__(self, model: type[Model], alias: str, connection) -> None:
        fields = model._meta.concrete_fields
        self.model, self.attnames = model, [f.attname for f in fields]
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
        cols = [f.get_col(alias) for f in fields]
        self.converters = [
            (i, col, found)
            for i, col in enumerate(cols)
            if (found := connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        ]

    def build(self, row: Sequence[Any], start: int, connection) -> Model | None:
        values = list(row[start : start + len(self.attnames)])
        if values[0] is None:  # the primary key: no row joined
            return None
        for i, col, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

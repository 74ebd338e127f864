"""Snapshot rows encoded as JSON by PostgreSQL itself (issue 11: pages built in the store).

A first sync of 100,000 prospects spent most of the store's time turning rows into
Python lists and those into JSON. On PostgreSQL each row of a snapshot page is now
selected as its JSON array text (``json_build_array``), in the very form the Python path
(``pull._rows``, ``pull._masked``) gives it: temporal values as ``str(datetime)`` prints
them, phone numbers and credit codes masked outside the user's own prospects. The page
splices these fragments between its brackets (``Fragment``); no row becomes a Python
object.

A row the SQL cannot render exactly as Python would (a date out of range, a float that
is not finite, a phone number or credit code of an unusual shape) comes back flagged
"not plain" and takes the Python path, which masks it by the same function and leaves
out what cannot be sent. So both paths give the same page, row for row
(``tests/integration/test_row_json.py``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy import Float as SAFloat

from app.models import TABLES_BY_ENTITY
from app.models.sync import SYNC_COLUMNS, SYNC_ENTITIES
from app.services.masking import MASK


def _kinds(entity: str) -> tuple[dict[int, type], list[int]]:
    """Positions of the temporal columns (with their type) and of the float ones."""
    table = TABLES_BY_ENTITY[entity]
    temporal: dict[int, type] = {}
    floats: list[int] = []
    for i, name in enumerate(SYNC_COLUMNS[entity]):
        python_type = table.c[name].type.python_type
        if python_type in (datetime, date):
            temporal[i] = python_type
        elif python_type is float:
            floats.append(i)
    return temporal, floats


# what both paths (here and ``pull._rows``) need to know of each entity's sync columns
COLUMN_KINDS = {entity: _kinds(entity) for entity in SYNC_ENTITIES}


class Fragment(str):
    """One row's JSON text, made by the database: written into the page as it is."""

    __slots__ = ()


def _iso(column: ColumnElement, kind: type) -> ColumnElement:
    """``str(value)`` of a date or naive datetime: ``YYYY-MM-DD`` / ``YYYY-MM-DD HH:MM:SS``
    with ``.ffffff`` only when there are microseconds."""
    if kind is date:
        return func.to_char(column, "YYYY-MM-DD")
    whole_second = func.mod(extract("microseconds", column), 1000000) == 0
    fraction = case((whole_second, literal("")), else_=func.to_char(column, ".US"))
    return func.to_char(column, "YYYY-MM-DD HH24:MI:SS").concat(fraction)


def _plain_temporal(column: ColumnElement) -> ColumnElement[bool]:
    """A value ``str`` prints with a four-digit year, the form ``to_char`` gives."""
    return or_(
        column.is_(None),
        and_(func.isfinite(column), extract("year", column).between(1000, 9999)),
    )


def _plain_float(column: ColumnElement) -> ColumnElement[bool]:
    """Not NaN or infinite (PostgreSQL compares NaN equal to itself)."""
    bad = [cast(literal(v), SAFloat) for v in ("NaN", "Infinity", "-Infinity")]
    return or_(column.is_(None), column.notin_(bad))


_PHONE = "^[0-9]{11}$"  # as the store keeps a number; masking.mask_phone's fast path
_CODE = "^[0-9A-Za-z]+$"  # nothing strip() would remove, nothing wider than a character


def _masked_phone(phone: ColumnElement) -> tuple[ColumnElement, ColumnElement[bool]]:
    masked = case(
        (func.coalesce(phone, "") == "", literal("")),
        else_=func.substr(phone, 1, 3).concat(MASK * 4).concat(func.substr(phone, 8)),
    )
    plain = or_(func.coalesce(phone, "") == "", phone.regexp_match(_PHONE))
    return masked, plain


def _masked_code(code: ColumnElement) -> tuple[ColumnElement, ColumnElement[bool]]:
    masked = case(
        (func.coalesce(code, "") == "", literal("")),
        (func.length(code) < 18, func.repeat(MASK, func.length(code))),
        else_=func.left(code, 4).concat(MASK * 10).concat(func.right(code, 4)),
    )
    plain = or_(func.coalesce(code, "") == "", code.regexp_match(_CODE))
    return masked, plain


def json_rows(entity: str, user_id: str | None) -> Select:
    """``SELECT id, plain, json`` over ``entity``'s table: each row's JSON array text, to be
    used when ``plain`` (else the caller reads that row the Python way). ``user_id``: whose
    prospects go in clear (the others are masked); None masks nothing (not a prospect)."""
    table = TABLES_BY_ENTITY[entity]
    temporal, floats = COLUMN_KINDS[entity]
    values: list[ColumnElement] = []
    plains: list[ColumnElement[bool]] = []
    own = None
    if entity == "prospect" and user_id is not None:
        own = func.coalesce(table.c.assignee_id == user_id, False)
    for i, name in enumerate(SYNC_COLUMNS[entity]):
        column = table.c[name]
        if i in temporal:
            values.append(_iso(column, temporal[i]))
            plains.append(_plain_temporal(column))
        elif i in floats:
            values.append(column)
            plains.append(_plain_float(column))
        elif own is not None and name in ("phone", "credit_code"):
            masked, plain = (_masked_phone if name == "phone" else _masked_code)(column)
            values.append(case((own, column), else_=masked))
            plains.append(or_(own, plain))
        else:
            values.append(column)
    plain = and_(true(), *plains).self_group() if plains else true()
    # the JSON of a row that is not plain is made too, and thrown away: cheaper than
    # evaluating the checks twice (once more in a CASE) for every row
    row = cast(func.json_build_array(*values), Text)
    return select(table.c.id, cast(plain, Boolean).label("plain"), row.label("j"))

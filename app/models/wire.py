"""Constrained types of the wire models: one contract for the form, the device and the store.

The device builds every mutation payload as its model and the central store parses
the same model, so a value one side would refuse never reaches the other's tables:

    ids         1-64 characters, no control characters (made by ``new_id``)
    free text   bounded length, no NUL (PostgreSQL's text refuses it)
    lat / lon   finite WGS-84 degrees: [-90, 90] and [-180, 180]
    times       with an offset, or naive meaning UTC; kept as naive UTC, from 2000 to
                a day past the validating side's clock
    dates       from 2000 to a few years ahead
    amounts     whole yuan, positive, within the store's INTEGER column
    digests     SHA-256 as 64 lower-case hex digits

A rule across fields that the user can break (a closing move with no reason) is raised
as ``rule(code)``: its code is an i18n key, which both sides answer with
(``rule_code``) instead of a generic ``mutation.invalid``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from app.models.ids import utcnow

EARLIEST = datetime(2000, 1, 1)  # before any whitelist: a device clock reset to its epoch
CLOCK_SKEW = timedelta(days=1)  # how far a device clock may run ahead of the validating side
DATE_HORIZON = timedelta(days=5 * 366)  # how far ahead a planned date may lie
AMOUNT_LIMIT = 1_000_000_000  # 元; a disbursement column is INTEGER (< 2^31)
SEQ_LIMIT = 2**63 - 1  # device_state.last_seq and mutation_record.seq are BIGINT


def _as_naive_utc(value: datetime) -> datetime:
    """An aware time as naive UTC; a naive one is UTC already.

    Both databases then store the same instant: PostgreSQL would convert an aware value
    to its session zone, SQLite would keep the wall-clock digits and drop the offset.
    """
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError as exc:  # 9999-12-31T23:00-14:00 lies past year 9999 in UTC
        raise ValueError("must not lie in the future") from exc


def _not_before_2000_nor_ahead(value: datetime) -> datetime:
    value = _as_naive_utc(value)
    if value < EARLIEST:
        raise ValueError(f"must not be before {EARLIEST:%Y-%m-%d}")
    if value > utcnow() + CLOCK_SKEW:
        raise ValueError("must not lie in the future")
    return value


def _within_horizon(value: date) -> date:
    if value < EARLIEST.date():
        raise ValueError(f"must not be before {EARLIEST:%Y-%m-%d}")
    if value > (utcnow() + DATE_HORIZON).date():
        raise ValueError("is too far ahead")
    return value


EntityId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
OccurredAt = Annotated[datetime, AfterValidator(_not_before_2000_nor_ahead)]
PlannedDate = Annotated[date, AfterValidator(_within_horizon)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Amount = Annotated[int, Field(gt=0, le=AMOUNT_LIMIT)]


def free_text(limit: int) -> StringConstraints:
    """Text of at most ``limit`` characters, line breaks allowed, NUL not."""
    return StringConstraints(max_length=limit, pattern=r"^[^\x00]*$")


class WireModel(BaseModel):
    """A payload on the wire: enums travel as their values, unknown keys are ignored."""

    model_config = ConfigDict(use_enum_values=True)


def rule(code: str, message: str) -> PydanticCustomError:
    """A broken rule across fields, raised by a model validator; ``code`` is an i18n key
    (it holds a dot, which no pydantic error type does)."""
    return PydanticCustomError(code, message)


def rule_code(exc: ValidationError) -> str | None:
    """The code of the first ``rule`` a validation broke, None if only fields were bad."""
    return next((str(e["type"]) for e in exc.errors() if "." in str(e["type"])), None)

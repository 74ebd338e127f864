"""Field finds (外拓线索, 自下而上): the rules over a business a marketer adds on the street.

    form        check_lead_input: each field's problem as an i18n code, or the clean input
    wire        checked_lead: a payload with its credit code's check characters verified
                and its phone normalised; the device calls it before queueing, the store
                again on arrival (the wire model checks the shape only: it lives below
                this layer)
    phone       a mainland mobile (11 digits) or a landline ``0851-28221234``: full-width
                digits, spaces, dashes and brackets folded; an empty phone is allowed
    duplicates  one credit code, one live entry: a find whose code the device already
                holds (a prospect, or a find pending or approved) is refused there
                (``lead.duplicate_local``); the store marks one it already lists
                ``duplicate`` at sync and tells its finder only "已在白名单中", never
                where or whose it is

The industries a find may name are those of the whitelist data (``INDUSTRIES``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from app.models.field_lead import LeadStatus
from app.models.sync import (
    ADDRESS_LIMIT,
    COMPANY_NAME_LIMIT,
    CONTACT_NAME_LIMIT,
    LEAD_NOTE_LIMIT,
    LeadCreatePayload,
)
from app.services.validation import ValidationError, validate_credit_code, validate_mobile

# The trades the whitelist data names (the demo city's, app/demo.py), in the form's order.
INDUSTRIES: tuple[str, ...] = (
    "餐饮",
    "批发零售",
    "酒类制造",
    "茶叶",
    "农副产品加工",
    "汽车维修",
    "建材",
    "物流运输",
    "住宿",
    "医药零售",
    "服装零售",
    "种植养殖",
    "竹木加工",
    "乐器制造",
)

# Finds that hold their credit code: a second one of the same code is a duplicate.
HOLDING_STATUSES: frozenset[str] = frozenset({LeadStatus.PENDING, LeadStatus.APPROVED})

# Area codes of three digits (010 Beijing, 02x the big cities); every other has four.
_LANDLINE = re.compile(r"(0(?:10|2[0-9]|[3-9][0-9]{2}))([2-9][0-9]{6,7})")
_PHONE_NOISE = re.compile(r"[\s\-()（）]+")


class LeadRuleError(ValueError):
    """A find that breaks a rule; ``code`` is an i18n key (the store answers with it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise_phone(phone: str) -> str:
    """A mobile as 11 digits, a landline as ``area-number``; ``""`` for nothing; else
    ``ValidationError`` (``validation.phone``)."""
    value = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", phone or ""))
    if not value:
        return ""
    try:
        return validate_mobile(value)
    except ValidationError:
        pass
    if value.startswith("+86"):
        value = "0" + value[3:].lstrip("0")
    match = _LANDLINE.fullmatch(value)
    if match is None:
        raise ValidationError("validation.phone", "phone")
    return f"{match[1]}-{match[2]}"


def checked_lead(payload: LeadCreatePayload) -> LeadCreatePayload:
    """``payload`` with its credit code verified (GB 32100 check characters) and its phone
    normalised; ``LeadRuleError`` (``lead.credit_code_invalid``, ``lead.phone_invalid``)."""
    try:
        code = validate_credit_code(payload.credit_code)
    except ValidationError:
        raise LeadRuleError("lead.credit_code_invalid") from None
    try:
        phone = normalise_phone(payload.phone)
    except ValidationError:
        raise LeadRuleError("lead.phone_invalid") from None
    return payload.model_copy(update={"credit_code": code, "phone": phone})


@dataclass(frozen=True)
class LeadInput:
    """What the add form's fields say, checked and normalised."""

    company_name: str
    credit_code: str
    contact_name: str
    phone: str
    industry: str
    address: str
    note: str


def credit_code_problem(value: str) -> str | None:
    """The i18n code of what is wrong with a typed credit code (the form's live check),
    None when it is right; an empty field is ``lead.error.credit_code_required``."""
    if not (value or "").strip():
        return "lead.error.credit_code_required"
    try:
        validate_credit_code(value)
    except ValidationError as exc:
        return exc.code
    return None


def check_lead_input(
    *,
    company_name: str,
    credit_code: str,
    contact_name: str = "",
    phone: str = "",
    industry: str = "",
    address: str = "",
    note: str = "",
) -> tuple[LeadInput | None, dict[str, str]]:
    """The clean input, or the field errors (field -> i18n code); never both."""
    errors: dict[str, str] = {}
    name = (company_name or "").strip()
    if not name:
        errors["company_name"] = "lead.error.company_required"
    elif len(name) > COMPANY_NAME_LIMIT or "\x00" in name:
        errors["company_name"] = "lead.error.too_long"
    code_problem = credit_code_problem(credit_code)
    if code_problem:
        errors["credit_code"] = code_problem
    try:
        clean_phone = normalise_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.code
        clean_phone = ""
    limits = {
        "contact_name": (contact_name, CONTACT_NAME_LIMIT),
        "address": (address, ADDRESS_LIMIT),
        "note": (note, LEAD_NOTE_LIMIT),
    }
    for field, (value, limit) in limits.items():
        if len((value or "").strip()) > limit or "\x00" in (value or ""):
            errors[field] = "lead.error.too_long"
    industry = (industry or "").strip()
    if industry and industry not in INDUSTRIES:
        errors["industry"] = "lead.error.industry"
    if errors:
        return None, errors
    return (
        LeadInput(
            company_name=name,
            credit_code=validate_credit_code(credit_code),
            contact_name=(contact_name or "").strip(),
            phone=clean_phone,
            industry=industry,
            address=(address or "").strip(),
            note=(note or "").strip(),
        ),
        {},
    )


@dataclass(frozen=True)
class LeadRow:
    """A find as its list shows it."""

    id: str
    company_name: str
    credit_code: str
    contact_name: str
    phone: str
    industry: str
    address: str
    note: str
    status: str
    review_reason: str
    review_note: str
    finder_id: str
    finder_name: str
    created_at: datetime | None
    prospect_id: str | None
    uploaded: bool  # the store has it (False: still in this device's outbox)
    has_position: bool


def in_review_order(rows: list[LeadRow]) -> list[LeadRow]:
    """Pending finds first (oldest first: they have waited longest), then the reviewed,
    newest first."""
    pending = sorted(
        (r for r in rows if r.status == LeadStatus.PENDING),
        key=lambda r: (r.created_at or datetime.min, r.id),
    )
    done = sorted(
        (r for r in rows if r.status != LeadStatus.PENDING),
        key=lambda r: (r.created_at or datetime.min, r.id),
        reverse=True,
    )
    return pending + done


def newest_first(rows: list[LeadRow]) -> list[LeadRow]:
    """A finder's own finds, the latest on top."""
    return sorted(rows, key=lambda r: (r.created_at or datetime.min, r.id), reverse=True)

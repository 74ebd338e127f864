"""One prospect as the customer card shows it (read by app/queries/prospects.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ProspectCard:
    """A prospect with its batch, assignee, outlet, masked contacts and next moves."""

    id: str
    company_name: str
    legal_rep: str
    credit_code: str
    credit_code_masked: str
    phone: str
    phone_masked: str
    industry: str
    address: str
    lat: float
    lon: float
    pre_approved_line: int
    score: int
    tags: list[str]
    status: str
    assignee_id: str | None
    assignee_name: str | None
    outlet_id: str
    outlet_name: str | None
    outlet_lat: float | None
    outlet_lon: float | None
    distance_km: float | None  # from the outlet
    batch_name: str
    batch_product: str
    batch_valid_until: date | None
    disbursed_amount: int | None
    next_follow_up: date | None
    last_contact_at: datetime | None
    pending_changes: int


def parse_tags(raw: str | None) -> list[str]:
    """A prospect's tags from their stored JSON list; unreadable text gives none."""
    try:
        found = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(x) for x in found] if isinstance(found, list) else []

"""The sync wire protocol shared by the device engine and the central store.

Every request carries ``X-Puhui-Protocol``; the store refuses versions below
``MIN_PROTOCOL_VERSION`` with ``protocol.too_old`` (HTTP 426).

Pull (``GET /sync/pull?cursor=...``) answers pages of rows in a columnar form::

    {"cursor": "...", "has_more": true, "snapshot": true,
     "progress": {"done": 5000, "total": 100000},
     "entities": {"prospect": {"columns": [...], "rows": [[...]], "deletes": ["id"]}}}

A missing cursor starts a snapshot of the user's scope (entity by entity, keyset
paged), bounded by the change-log high-water mark read at its start; afterwards
the cursor follows the change log. Cursors are opaque to the device.

Push (``POST /sync/push``) sends outbox mutations in device order; each answer is
``applied`` or ``rejected`` with a code and message, and a replay of an already
applied sequence gets its first answer again. The store takes each device's (and
user's) sequences without gaps: ``first_seq`` declares where the device's stream
resumes (every lower sequence it held was answered, or discarded at sign-out, or
belonged to another user of the device); a later gap is answered ``rejected`` with
``sync.seq_gap`` and ``expected_seq``, records nothing, and the device keeps the
mutation and sends again from ``expected_seq``. A sequence the stream passed without
a record of it is answered ``sync.seq_unknown``, never ``applied``.

Version 2 added ``first_seq`` and ``expected_seq``; a version-1 device would take a
gap refusal for a final one, so it is told to update (426) and keeps its outbox.
Version 3 added the reason of a closing move (``close_reason``, ``close_note``) to the
funnel move and to pulled funnel events: a version-2 device would refuse the pulled
columns and could not send a reason, so it too is told to update. Version 4 added the
batch's ``version`` column, the ``field_lead`` entity (field finds and their review) and
the sub-branch manager's role: a version-3 device would refuse the pulled columns.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from app.models.feedback import FEEDBACK_NOTE_LIMIT, FeedbackReason
from app.models.field_lead import (
    LEAD_NOTE_LIMIT,
    LEAD_REVIEW_NOTE_LIMIT,
    LeadDecision,
    LeadRejectReason,
)
from app.models.marketing_log import MarketingLogCreate
from app.models.prospect import CLOSED_STATUSES, FunnelStatus
from app.models.wire import (
    SEQ_LIMIT,
    Amount,
    EntityId,
    Latitude,
    Longitude,
    OccurredAt,
    WireModel,
    free_text,
    rule,
)

PROTOCOL_VERSION = 4
# 2: gap-free sequences (first_seq, expected_seq); 3: close reasons; 4: batch versions,
# field finds, sub-branch managers
MIN_PROTOCOL_VERSION = 4
PROTOCOL_HEADER = "X-Puhui-Protocol"

# Entities a device receives, in snapshot order, with their wire columns.
SYNC_COLUMNS: dict[str, tuple[str, ...]] = {
    "outlet": ("id", "code", "name", "tier", "branch_name", "address", "lat", "lon", "rev"),
    "user": ("id", "employee_no", "name", "role", "outlet_id", "active", "rev"),
    "whitelist_batch": (
        "id", "name", "product", "source", "valid_from", "valid_until", "version", "created_at",
        "rev",
    ),
    "prospect": (
        "id", "batch_id", "company_name", "credit_code", "legal_rep", "phone", "industry",
        "address", "lat", "lon", "pre_approved_line", "score", "tags", "outlet_id",
        "assignee_id", "status", "disbursed_amount", "last_contact_at", "next_follow_up",
        "updated_at", "rev",
    ),
    "marketing_log": (
        "id", "prospect_id", "author_id", "channel", "occurred_at", "outcome", "note",
        "next_follow_up", "lat", "lon", "attachments", "device_id", "recorded_at", "rev",
    ),
    "funnel_event": (
        "id", "prospect_id", "actor_id", "from_status", "to_status", "applied", "reason_code",
        "close_reason", "close_note", "amount", "occurred_at", "recorded_at", "rev",
    ),
    "transfer": (
        "id", "prospect_id", "from_user_id", "to_user_id", "from_outlet_id", "to_outlet_id",
        "by_user_id", "reason", "created_at", "rev",
    ),
    "field_lead": (
        "id", "finder_id", "outlet_id", "company_name", "credit_code", "contact_name", "phone",
        "industry", "address", "lat", "lon", "note", "status", "review_reason", "review_note",
        "reviewed_by", "reviewed_at", "prospect_id", "created_at", "recorded_at", "rev",
    ),
}  # fmt: skip
SYNC_ENTITIES: tuple[str, ...] = tuple(SYNC_COLUMNS)
# Rows that hang off a prospect and leave a device with it.
CHILD_ENTITIES: tuple[str, ...] = ("marketing_log", "funnel_event", "transfer")


class MutationKind(StrEnum):
    LOG_CREATE = "log.create"  # a marketing log (append-only)
    FUNNEL_MOVE = "funnel.move"  # request a funnel status change
    PROSPECT_CLAIM = "prospect.claim"  # take an unassigned prospect from the outlet pool
    PROSPECT_ASSIGN = "prospect.assign"  # manager: assign / transfer to a marketer
    AUDIT_REVEAL = "audit.reveal"  # a masked field was revealed
    LEAD_CREATE = "lead.create"  # a business found in the field (外拓线索), for review
    LEAD_REVIEW = "lead.review"  # manager: approve or send back a field find


class MutationStatus(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"


class Mutation(BaseModel):
    """One outbox entry on the wire; its payload is the model its ``kind`` names."""

    seq: int = Field(ge=1, le=SEQ_LIMIT)
    id: EntityId
    kind: MutationKind
    payload: dict[str, Any]  # parsed per mutation, so one bad payload is one rejection
    created_at: datetime  # device time, data only


class PushRequest(BaseModel):
    device_id: Annotated[EntityId, Field(min_length=8)]
    mutations: list[Mutation]
    # The lowest sequence the device still holds; none below it will ever come.
    first_seq: int | None = Field(default=None, ge=1, le=SEQ_LIMIT)


SEQ_GAP = "sync.seq_gap"  # a result's code: send again from its expected_seq


class MutationResult(BaseModel):
    seq: int
    status: MutationStatus
    code: str = ""
    message: str = ""
    expected_seq: int | None = None  # with SEQ_GAP: the sequence the store takes next


class PushResponse(BaseModel):
    results: list[MutationResult]
    last_seq: int


class EntityChecksum(BaseModel):
    count: int
    digest: str


class ChecksumResponse(BaseModel):
    cursor_seq: int
    stale: bool = False
    entities: dict[str, EntityChecksum]


class EntityPage(BaseModel):
    """One entity's rows in a pull page, columnar: ``rows`` follow ``columns``."""

    columns: list[str]
    rows: list[list[Any]]
    deletes: list[str]


class PullProgress(BaseModel):
    done: int
    total: int


class PullPage(BaseModel):
    """A pull answer; the store writes it as JSON itself (speed), this model documents it."""

    cursor: str
    has_more: bool
    snapshot: bool
    progress: PullProgress
    entities: dict[str, EntityPage]


class PositionResponse(BaseModel):
    cursor_seq: int | None  # None: the cursor is still inside a snapshot
    high: int
    up_to_date: bool


class HealthResponse(BaseModel):
    status: str
    database: str
    protocol: int
    min_protocol: int
    worker: int  # the id of the process that answered (``serve --workers N``: which one)


class LoginRequest(BaseModel):
    # No control characters: PostgreSQL refuses NUL in a query, so it must fail here (422).
    employee_no: str = Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=128)


class SessionUser(BaseModel):
    id: str
    employee_no: str
    name: str
    role: str
    outlet_id: str | None


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    user: SessionUser


class LogoutResponse(BaseModel):
    """``POST /auth/logout``: the presented token no longer works from this time on."""

    revoked_at: datetime


class ErrorBody(BaseModel):
    code: str
    message: str


def pair_hash(entity_id: str, rev: int) -> int:
    """A signed 32-bit hash of one (id, rev) pair: the first 4 bytes of MD5 of "id:rev"
    (PostgreSQL computes the same: ``app.server.scope_sums``)."""
    import hashlib

    value = int.from_bytes(hashlib.md5(f"{entity_id}:{rev}".encode()).digest()[:4], "big")
    return value - (1 << 32) if value >= 1 << 31 else value


def scope_digest(pairs: list[tuple[str, int]]) -> str:
    """Order-independent digest of (id, rev) pairs: the sum of their ``pair_hash``, so the
    store can keep it per scope as rows change; both sides compute it alike."""
    return str(sum(pair_hash(entity_id, rev) for entity_id, rev in pairs))


# -- mutation payloads ------------------------------------------------------------------


class RevealField(StrEnum):
    PHONE = "phone"
    CREDIT_CODE = "credit_code"


REASON_LIMIT = 200  # characters


class FunnelMovePayload(WireModel):
    """A requested status change. A closing one (已拒绝 / 无效) says why: a reason from
    the feedback list, with a note when the reason is ``other``; any other move carries
    neither (rules ``funnel.reason_required``, ``funnel.note_required``,
    ``funnel.reason_not_closing``)."""

    event_id: EntityId
    prospect_id: EntityId
    to_status: FunnelStatus
    amount: Amount | None = None  # 元, for disbursed
    occurred_at: OccurredAt
    close_reason: FeedbackReason | None = None
    close_note: Annotated[str, free_text(FEEDBACK_NOTE_LIMIT)] = ""

    @model_validator(mode="after")
    def _reason_with_closing(self) -> FunnelMovePayload:
        self.close_note = self.close_note.strip()
        if self.to_status not in CLOSED_STATUSES:
            if self.close_reason is not None or self.close_note:
                raise rule("funnel.reason_not_closing", "only a closing move has a reason")
        elif self.close_reason is None:
            raise rule("funnel.reason_required", "a closing move needs a reason")
        elif self.close_reason == FeedbackReason.OTHER and not self.close_note:
            raise rule("funnel.note_required", "the reason 'other' needs a note")
        return self


class ClaimPayload(WireModel):
    transfer_id: EntityId
    prospect_id: EntityId
    occurred_at: OccurredAt


class AssignPayload(WireModel):
    transfer_id: EntityId
    prospect_id: EntityId
    to_user_id: EntityId | None  # None: back to the outlet pool
    reason: Annotated[str, free_text(REASON_LIMIT)] = ""
    occurred_at: OccurredAt


class RevealPayload(WireModel):
    event_id: EntityId
    prospect_id: EntityId
    field: RevealField
    occurred_at: OccurredAt


class RevealRequest(WireModel):
    """``POST /prospects/{id}/reveal``: the clear value of one masked field, audited."""

    event_id: EntityId  # made on the device: a retried request is audited once
    field: RevealField
    device_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class RevealResponse(BaseModel):
    field: RevealField
    value: str


# -- field finds (外拓线索) ------------------------------------------------------------------

COMPANY_NAME_LIMIT = 100  # characters
CONTACT_NAME_LIMIT = 50
PHONE_LIMIT = 32
INDUSTRY_LIMIT = 30
ADDRESS_LIMIT = 200
_CREDIT_CODE_SHAPE = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def _credit_code_shape(value: str) -> str:
    """NFKC-folded (full-width digits from an IME), stripped, upper-case, and 18 characters
    of the GB 32100 set; the check characters are ``services.leads.checked_lead``'s (this
    layer does not reach the rules), which both the device and the store call."""
    value = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    if len(value) != 18 or not set(value) <= _CREDIT_CODE_SHAPE:
        raise rule("lead.credit_code_invalid", "not a unified social credit code")
    return value


def _folded(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


CreditCode = Annotated[str, AfterValidator(_credit_code_shape)]
CompanyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=COMPANY_NAME_LIMIT),
    free_text(COMPANY_NAME_LIMIT),
]
PhoneText = Annotated[str, free_text(PHONE_LIMIT), AfterValidator(_folded)]


class LeadCreatePayload(WireModel):
    """A business a marketer found on the street, made offline: its id is the find's.

    The phone is a mobile or a landline, normalised (``services.leads.checked_lead``
    checks it and the credit code's check characters: ``lead.phone_invalid``,
    ``lead.credit_code_invalid``); a position is the device's own fix, both or neither
    (``lead.position_partial``)."""

    id: EntityId
    company_name: CompanyName
    credit_code: CreditCode
    contact_name: Annotated[str, free_text(CONTACT_NAME_LIMIT)] = ""
    phone: PhoneText = ""
    industry: Annotated[str, free_text(INDUSTRY_LIMIT)] = ""
    address: Annotated[str, free_text(ADDRESS_LIMIT)] = ""
    lat: Latitude | None = None
    lon: Longitude | None = None
    note: Annotated[str, free_text(LEAD_NOTE_LIMIT)] = ""
    occurred_at: OccurredAt

    @model_validator(mode="after")
    def _tidy(self) -> LeadCreatePayload:
        self.contact_name = self.contact_name.strip()
        self.industry = self.industry.strip()
        self.address = self.address.strip()
        self.note = self.note.strip()
        if (self.lat is None) != (self.lon is None):
            raise rule("lead.position_partial", "a position has both lat and lon")
        return self


class LeadReviewPayload(WireModel):
    """A manager's verdict on a pending find. Sent back (``reject``), it says why: a reason
    from ``LeadRejectReason``, with a note when the reason is ``other``; an approval carries
    neither (rules ``lead.reason_required``, ``lead.note_required``,
    ``lead.reason_not_rejecting``). ``prospect_id`` and ``transfer_id`` are made on the
    device for the approved prospect and its handover, so a retried push is applied once."""

    lead_id: EntityId
    decision: LeadDecision
    reason: LeadRejectReason | None = None
    note: Annotated[str, free_text(LEAD_REVIEW_NOTE_LIMIT)] = ""
    prospect_id: EntityId
    transfer_id: EntityId
    occurred_at: OccurredAt

    @model_validator(mode="after")
    def _reason_with_rejection(self) -> LeadReviewPayload:
        self.note = self.note.strip()
        if self.decision == LeadDecision.APPROVE:
            if self.reason is not None or self.note:
                raise rule("lead.reason_not_rejecting", "only a rejection has a reason")
        elif self.reason is None:
            raise rule("lead.reason_required", "a rejection needs a reason")
        elif self.reason == LeadRejectReason.OTHER and not self.note:
            raise rule("lead.note_required", "the reason 'other' needs a note")
        return self


# What each kind carries; MarketingLogCreate is the log's own model.
PAYLOADS: dict[MutationKind, type[BaseModel]] = {
    MutationKind.LOG_CREATE: MarketingLogCreate,
    MutationKind.FUNNEL_MOVE: FunnelMovePayload,
    MutationKind.PROSPECT_CLAIM: ClaimPayload,
    MutationKind.PROSPECT_ASSIGN: AssignPayload,
    MutationKind.AUDIT_REVEAL: RevealPayload,
    MutationKind.LEAD_CREATE: LeadCreatePayload,
    MutationKind.LEAD_REVIEW: LeadReviewPayload,
}

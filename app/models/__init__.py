"""SQLModel tables and wire schemas, one module per entity.

Importing this package registers every table on ``SQLModel.metadata``; the
central store and the device each create their own subset (``SERVER_TABLES``,
``DEVICE_TABLES``).
"""

from app.models.audit import AuditEvent
from app.models.auth import LockKind, LoginAttempt, LoginLock, LoginOutcome, RevokedToken
from app.models.batch import BatchSource, WhitelistBatch, WhitelistBatchVersion
from app.models.change import ChangeClock, ChangeLog, DeviceState, MutationRecord, ScopeSum
from app.models.dashboard import ROLLUP_TABLES
from app.models.device import OutboxEntry, Rejection, SyncStateRow
from app.models.field_lead import FieldLead, LeadStatus
from app.models.funnel_event import FunnelEvent
from app.models.incident import Incident
from app.models.loan import ApiKey, LoanEvent, ProfitShare, ShareAdjustment, ShareRatio
from app.models.marketing_log import Channel, MarketingLog, Outcome
from app.models.outlet import Outlet, OutletTier
from app.models.prospect import Prospect
from app.models.ranks import RANK_TABLES
from app.models.target import Target
from app.models.transfer import Transfer
from app.models.user import Role, User

DOMAIN_TABLES = [
    Outlet.__table__,
    User.__table__,
    WhitelistBatch.__table__,
    Prospect.__table__,
    MarketingLog.__table__,
    FunnelEvent.__table__,
    Transfer.__table__,
    FieldLead.__table__,
]
SERVER_TABLES = [
    *DOMAIN_TABLES,
    WhitelistBatchVersion.__table__,
    AuditEvent.__table__,
    ChangeLog.__table__,
    ChangeClock.__table__,
    ScopeSum.__table__,
    DeviceState.__table__,
    MutationRecord.__table__,
    Incident.__table__,
    LoginAttempt.__table__,
    LoginLock.__table__,
    RevokedToken.__table__,
    ApiKey.__table__,
    LoanEvent.__table__,
    ShareRatio.__table__,
    ProfitShare.__table__,
    ShareAdjustment.__table__,
    Target.__table__,
    *ROLLUP_TABLES,
    *RANK_TABLES,
]
DEVICE_TABLES = [*DOMAIN_TABLES, OutboxEntry.__table__, SyncStateRow.__table__, Rejection.__table__]
TABLES_BY_ENTITY = {t.name: t for t in DOMAIN_TABLES}

__all__ = [
    "ApiKey",
    "AuditEvent",
    "BatchSource",
    "ChangeClock",
    "ChangeLog",
    "Channel",
    "DeviceState",
    "FieldLead",
    "FunnelEvent",
    "Incident",
    "LeadStatus",
    "LoanEvent",
    "LockKind",
    "LoginAttempt",
    "LoginLock",
    "LoginOutcome",
    "MarketingLog",
    "MutationRecord",
    "Outcome",
    "OutboxEntry",
    "Outlet",
    "OutletTier",
    "ProfitShare",
    "Prospect",
    "Rejection",
    "RevokedToken",
    "ShareAdjustment",
    "ShareRatio",
    "Role",
    "ScopeSum",
    "SyncStateRow",
    "Target",
    "Transfer",
    "User",
    "WhitelistBatch",
    "WhitelistBatchVersion",
    "DOMAIN_TABLES",
    "SERVER_TABLES",
    "DEVICE_TABLES",
    "TABLES_BY_ENTITY",
]

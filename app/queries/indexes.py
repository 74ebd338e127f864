"""The device store's indexes: what the screens read, built once a first sync has landed.

Building them after a first sync's snapshot is cheaper than keeping them up to date
during it (app/sync/store.py ``create_screen_indexes``). The whitelist's planner
(app/queries/whitelist_plan.py) judges its plans by which of these holds what.
"""

from __future__ import annotations

# the follow-up list and a marketer's own prospects
LOCAL_INDEXES: list[str] = [
    "CREATE INDEX IF NOT EXISTS ix_prospect_assignee_status ON prospect (assignee_id, status)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_follow_up ON prospect (next_follow_up)",
]

# The map's circle (app/geo/nearby.py). id makes the index covering: an unscoped search
# reads no table rows at all (about 3x faster than (lat, lon) alone on 100,000 prospects:
# the rows are wide, the index is not).
LOCAL_GEO_DDL: list[str] = [
    "CREATE INDEX IF NOT EXISTS ix_prospect_lat_lon_id ON prospect (lat, lon, id)"
]

LOCAL_WHITELIST_DDL: list[str] = [
    # scopes, holding what the chips count and the distance sort reads: a marketer's home
    # screen (mine and pool, nearest first) reads no table row
    "CREATE INDEX IF NOT EXISTS ix_prospect_mine ON prospect"
    " (assignee_id, outlet_id, status, lat, lon)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_pool ON prospect"
    " (outlet_id, assignee_id, status, lat, lon)",
    # the text scan reads this instead of the table (under half as wide), with what
    # nearest-first needs
    "CREATE INDEX IF NOT EXISTS ix_prospect_search ON prospect"
    " (company_name, legal_rep, credit_code, phone, status, lat, lon)",
    # a phone's last four digits (the usual search for a customer who called)
    "CREATE INDEX IF NOT EXISTS ix_prospect_phone_tail ON prospect (substr(phone, -4))",
    # the distance box, with status for the chips
    "CREATE INDEX IF NOT EXISTS ix_prospect_geo_status ON prospect (lat, lon, status)",
    # the sorts walk these when most prospects match
    "CREATE INDEX IF NOT EXISTS ix_prospect_line ON prospect (pre_approved_line)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_score ON prospect (score)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_last_contact ON prospect (last_contact_at)",
    # filters, counted per status without reading rows
    "CREATE INDEX IF NOT EXISTS ix_prospect_industry_status ON prospect (industry, status)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_batch_status ON prospect (batch_id, status)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_follow_up_status ON prospect (next_follow_up, status)",
]

SCREEN_INDEXES: tuple[str, ...] = (*LOCAL_INDEXES, *LOCAL_GEO_DDL, *LOCAL_WHITELIST_DDL)


def index_name(ddl: str) -> str:
    """The index a ``CREATE INDEX IF NOT EXISTS name ON ...`` statement creates."""
    return ddl.split(" IF NOT EXISTS ")[1].split(" ON ")[0].strip()

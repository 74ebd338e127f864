"""change_log kept per branch: partitioned by branch, seqs counted per branch

Revision ID: 0009_change_log_by_branch
Revises: 0008_audit_note
Create Date: 2026-12-02 08:00:00

Also ``scope_sum``: scope checksums kept by triggers on PostgreSQL (app.server.scope_sums).

One change log with one global seq made every writer of the store wait on one lock.
Each branch (支行, an outlet's ``branch_name``; "" for head office's outlets, users and
batches) now counts its own seqs in ``change_clock`` and its writers take only its lock;
on PostgreSQL the log is partitioned by branch (hash, 16 partitions) and every key carries
the branch. Rows also say where the change happened, so a pull reads its outlet's rows by
index. Existing rows keep their seqs (unique, so unique within each branch too); a branch's
clock starts at its newest. Devices' cursors of the old form are refused once (409) and
they pull their scope again.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

# the triggers' SQL, written once for the migration and the tests alike
from app.models.sync import SYNC_ENTITIES
from app.server import scope_sums


revision = "0009_change_log_by_branch"
down_revision = "0008_audit_note"
branch_labels = None
depends_on = None

PARTITIONS = 16
_TEXT = sqlmodel.sql.sqltypes.AutoString


def _columns() -> list[sa.Column]:
    return [
        sa.Column("branch", _TEXT(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity", _TEXT(), nullable=False),
        sa.Column("entity_id", _TEXT(), nullable=False),
        sa.Column("prospect_id", _TEXT(), nullable=True),
        sa.Column("outlet_old", _TEXT(), nullable=True),
        sa.Column("assignee_old", _TEXT(), nullable=True),
        sa.Column("outlet_new", _TEXT(), nullable=True),
        sa.Column("assignee_new", _TEXT(), nullable=True),
        sa.Column("at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    ]


# the branch each existing row belongs to, and where its child or find stood
_COPY = """
INSERT INTO change_log_by_branch
  (branch, seq, entity, entity_id, prospect_id, outlet_old, assignee_old, outlet_new, assignee_new)
SELECT
  coalesce(CASE
    WHEN c.entity = 'prospect' THEN coalesce(onew.branch_name, oold.branch_name)
    WHEN c.entity IN ('marketing_log', 'funnel_event', 'transfer') THEN op.branch_name
    WHEN c.entity = 'field_lead' THEN ol.branch_name
  END, ''),
  c.seq, c.entity, c.entity_id, c.prospect_id,
  CASE WHEN c.entity = 'prospect' THEN c.outlet_old
       WHEN c.entity = 'field_lead' THEN f.outlet_id ELSE p.outlet_id END,
  CASE WHEN c.entity = 'prospect' THEN c.assignee_old
       WHEN c.entity = 'field_lead' THEN f.finder_id ELSE p.assignee_id END,
  CASE WHEN c.entity = 'prospect' THEN c.outlet_new
       WHEN c.entity = 'field_lead' THEN f.outlet_id ELSE p.outlet_id END,
  CASE WHEN c.entity = 'prospect' THEN c.assignee_new
       WHEN c.entity = 'field_lead' THEN f.finder_id ELSE p.assignee_id END
FROM change_log c
LEFT JOIN outlet onew ON c.entity = 'prospect' AND onew.id = c.outlet_new
LEFT JOIN outlet oold ON c.entity = 'prospect' AND oold.id = c.outlet_old
LEFT JOIN prospect p ON c.entity IN ('marketing_log', 'funnel_event', 'transfer')
  AND p.id = c.prospect_id
LEFT JOIN outlet op ON op.id = p.outlet_id
LEFT JOIN field_lead f ON c.entity = 'field_lead' AND f.id = c.entity_id
LEFT JOIN outlet ol ON ol.id = f.outlet_id
"""


def upgrade() -> None:
    op.create_table(
        "change_clock",
        sa.Column("branch", _TEXT(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("branch"),
    )
    op.add_column(
        "device_state",
        sa.Column("pruned_through", sa.BigInteger(), nullable=False, server_default="0"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "change_log_by_branch",
        *_columns(),
        sa.PrimaryKeyConstraint("branch", "seq", name="change_log_by_branch_pkey"),
        **({"postgresql_partition_by": "HASH (branch)"} if postgres else {}),
    )
    if postgres:
        for i in range(PARTITIONS):
            op.execute(
                f"CREATE TABLE change_log_p{i} PARTITION OF change_log_by_branch"
                f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
            )
    op.execute(_COPY)
    op.execute(
        "INSERT INTO change_clock (branch, seq)"
        " SELECT branch, max(seq) FROM change_log_by_branch GROUP BY branch"
    )
    op.drop_index("ix_change_log_prospect", table_name="change_log")
    op.drop_table("change_log")
    op.rename_table("change_log_by_branch", "change_log")
    if postgres:
        op.execute(
            "ALTER TABLE change_log RENAME CONSTRAINT change_log_by_branch_pkey TO change_log_pkey"
        )
    op.create_index("ix_change_log_prospect", "change_log", ["prospect_id"])
    op.create_index("ix_change_log_outlet_new", "change_log", ["branch", "outlet_new", "seq"])
    op.create_index("ix_change_log_outlet_old", "change_log", ["branch", "outlet_old", "seq"])
    # scope checksums kept by the database (PostgreSQL): per entity, outlet and holder
    op.create_table(
        "scope_sum",
        sa.Column("entity", _TEXT(), nullable=False),
        sa.Column("outlet", _TEXT(), nullable=False),
        sa.Column("holder", _TEXT(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "outlet", "holder"),
    )
    if postgres:
        for entity in SYNC_ENTITIES:
            op.execute(scope_sums.fill_sql(entity))
            for statement in scope_sums.trigger_sql(entity):
                op.execute(statement)
    # the rollups' position is per branch too; they start again from a full build
    op.add_column(
        "dash_state", sa.Column("positions", _TEXT(), nullable=False, server_default="{}")
    )
    op.execute("DELETE FROM dash_state")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for entity in SYNC_ENTITIES:
            for statement in scope_sums.drop_sql(entity):
                op.execute(statement)
    op.drop_table("scope_sum")
    op.drop_column("device_state", "pruned_through")
    op.execute("DELETE FROM dash_state")
    op.drop_column("dash_state", "positions")
    op.drop_index("ix_change_log_outlet_old", table_name="change_log")
    op.drop_index("ix_change_log_outlet_new", table_name="change_log")
    op.drop_index("ix_change_log_prospect", table_name="change_log")
    op.rename_table("change_log", "change_log_by_branch")
    op.create_table(
        "change_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        *_columns()[2:-1],
        sa.PrimaryKeyConstraint("seq"),
    )
    # one global order again: by seq, branches interleaved (seqs may repeat across
    # branches: renumbered in that order)
    op.execute(
        "INSERT INTO change_log (seq, entity, entity_id, prospect_id, outlet_old,"
        " assignee_old, outlet_new, assignee_new)"
        " SELECT row_number() OVER (ORDER BY seq, branch), entity, entity_id, prospect_id,"
        " outlet_old, assignee_old, outlet_new, assignee_new FROM change_log_by_branch"
    )
    op.drop_table("change_log_by_branch")
    op.drop_table("change_clock")
    op.create_index("ix_change_log_prospect", "change_log", ["prospect_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('change_log', 'seq'),"
            " coalesce((SELECT max(seq) FROM change_log), 0) + 1, false)"
        )

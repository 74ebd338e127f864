"""incidents; device_state.last_seq as BIGINT

Revision ID: 0002_incidents
Revises: 0001
Create Date: 2026-11-23 10:00:00

An ``incident`` table keeps each unexpected failure the store turned into an answer
(a mutation rolled back alone, a stored row a pull left out). ``last_seq`` widens to
BIGINT so a device sequence up to 2^63-1 (``wire.SEQ_LIMIT``) fits; SQLite's INTEGER
is 64-bit already, so only PostgreSQL is altered.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0002_incidents"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("error_class", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_incident_occurred_at"), "incident", ["occurred_at"], unique=False)
    # SQLite's INTEGER is 64-bit already; the declared type still follows the model's
    with op.batch_alter_table("device_state") as table:
        table.alter_column("last_seq", type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("device_state") as table:
        table.alter_column("last_seq", type_=sa.Integer(), existing_nullable=False)
    op.drop_index(op.f("ix_incident_occurred_at"), table_name="incident")
    op.drop_table("incident")

"""Loans from the loan system, profit sharing, service-account keys and targets

Revision ID: 0006_loans
Revises: 0005_distribution
Create Date: 2026-12-02 01:21:57

- ``api_key``: service accounts' keys (hashed), one endpoint each.
- ``loan_event``: each status of each loan the loan system reports, matched to a prospect
  by credit code (or waiting for an admin); unique per (loan, status).
- ``share_ratio``, ``profit_share``, ``share_adjustment``: the split of a disbursed loan's
  credit (分润) per product, its shares in fen, and admins' audited changes.
- ``target``: marketing targets (营销任务) per outlet or marketer and period.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0006_loans"
down_revision = "0005_distribution"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "loan_event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loan_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("credit_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("booking_outlet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("originator_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("booker_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("prospect_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("funnel_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("api_key_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution_note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("loan_id", "status", name="uq_loan_event_loan_status"),
    )
    op.create_index(
        op.f("ix_loan_event_booking_outlet_id"), "loan_event", ["booking_outlet_id"], unique=False
    )
    op.create_index(op.f("ix_loan_event_credit_code"), "loan_event", ["credit_code"], unique=False)
    op.create_index(
        op.f("ix_loan_event_originator_id"), "loan_event", ["originator_id"], unique=False
    )
    op.create_index(op.f("ix_loan_event_prospect_id"), "loan_event", ["prospect_id"], unique=False)
    op.create_index(op.f("ix_loan_event_state"), "loan_event", ["state"], unique=False)
    op.create_table(
        "profit_share",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loan_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loan_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("prospect_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("outlet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ratio_bp", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("adjusted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_profit_share_loan_id"), "profit_share", ["loan_id"], unique=False)
    op.create_index(
        op.f("ix_profit_share_occurred_on"), "profit_share", ["occurred_on"], unique=False
    )
    op.create_index(op.f("ix_profit_share_outlet_id"), "profit_share", ["outlet_id"], unique=False)
    op.create_index(
        op.f("ix_profit_share_prospect_id"), "profit_share", ["prospect_id"], unique=False
    )
    op.create_index(op.f("ix_profit_share_user_id"), "profit_share", ["user_id"], unique=False)
    op.create_table(
        "share_adjustment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("loan_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("admin_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("before", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("after", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_share_adjustment_loan_id"), "share_adjustment", ["loan_id"], unique=False
    )
    op.create_table(
        "share_ratio",
        sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("marketer_bp", sa.Integer(), nullable=False),
        sa.Column("originator_bp", sa.Integer(), nullable=False),
        sa.Column("booking_outlet_bp", sa.Integer(), nullable=False),
        sa.Column("remainder_to", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("product"),
    )
    op.create_table(
        "target",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "subject", "subject_id", "metric", name="uq_target"),
    )
    op.create_index(op.f("ix_target_period"), "target", ["period"], unique=False)
    op.create_index(op.f("ix_target_subject_id"), "target", ["subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_target_subject_id"), table_name="target")
    op.drop_index(op.f("ix_target_period"), table_name="target")
    op.drop_table("target")
    op.drop_table("share_ratio")
    op.drop_index(op.f("ix_share_adjustment_loan_id"), table_name="share_adjustment")
    op.drop_table("share_adjustment")
    op.drop_index(op.f("ix_profit_share_user_id"), table_name="profit_share")
    op.drop_index(op.f("ix_profit_share_prospect_id"), table_name="profit_share")
    op.drop_index(op.f("ix_profit_share_outlet_id"), table_name="profit_share")
    op.drop_index(op.f("ix_profit_share_occurred_on"), table_name="profit_share")
    op.drop_index(op.f("ix_profit_share_loan_id"), table_name="profit_share")
    op.drop_table("profit_share")
    op.drop_index(op.f("ix_loan_event_state"), table_name="loan_event")
    op.drop_index(op.f("ix_loan_event_prospect_id"), table_name="loan_event")
    op.drop_index(op.f("ix_loan_event_originator_id"), table_name="loan_event")
    op.drop_index(op.f("ix_loan_event_credit_code"), table_name="loan_event")
    op.drop_index(op.f("ix_loan_event_booking_outlet_id"), table_name="loan_event")
    op.drop_table("loan_event")
    op.drop_table("api_key")

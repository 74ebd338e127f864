"""The dashboards' rollups (central store only, never synced)

Revision ID: 0007_dashboards
Revises: 0006_loans
Create Date: 2026-12-03 09:00:00

- ``dash_state``: how far the rollups go (change-log seq, the loan tables' signature)
  and when they were taken (the answers' ``as_of``).
- ``dash_prospect``: each prospect as last rolled up, so a change can be taken back out.
- ``dash_status``, ``dash_first_contact``: live prospects per outlet × batch × status, and
  per outlet × batch × Beijing date of the first marketing log.
- ``dash_contacts``: marketing logs per day × outlet × author.
- ``dash_disbursal``: disbursements typed on devices (applied funnel events).
- ``dash_loan_daily``, ``dash_loan_customer``, ``dash_loan_prospect``,
  ``dash_batch_loans``: disbursed loans per day × outlet × person × role, the outlets'
  loan customers and whether they were worked first, the prospects with a loan, and
  entries disbursed by a loan whose status is not ``disbursed``.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0007_dashboards"
down_revision = "0006_loans"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "dash_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("loans", _TEXT(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dash_prospect",
        sa.Column("prospect_id", _TEXT(), nullable=False),
        sa.Column("batch_id", _TEXT(), nullable=False),
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("status", _TEXT(), nullable=False),
        sa.Column("live", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("loan", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prospect_id"),
    )
    op.create_table(
        "dash_status",
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("batch_id", _TEXT(), nullable=False),
        sa.Column("status", _TEXT(), nullable=False),
        sa.Column("prospects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "batch_id", "status"),
    )
    op.create_table(
        "dash_first_contact",
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("batch_id", _TEXT(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("prospects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "batch_id", "first_day"),
    )
    op.create_table(
        "dash_contacts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("author_id", _TEXT(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "outlet_id", "author_id"),
    )
    op.create_table(
        "dash_disbursal",
        sa.Column("funnel_event_id", _TEXT(), nullable=False),
        sa.Column("prospect_id", _TEXT(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("user_id", _TEXT(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("funnel_event_id"),
    )
    op.create_index(
        op.f("ix_dash_disbursal_prospect_id"), "dash_disbursal", ["prospect_id"], unique=False
    )
    op.create_table(
        "dash_loan_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("user_id", _TEXT(), nullable=False),
        sa.Column("role", _TEXT(), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("share_fen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "outlet_id", "user_id", "role"),
    )
    op.create_table(
        "dash_loan_customer",
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("credit_code", _TEXT(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "credit_code", "day"),
    )
    op.create_index(
        op.f("ix_dash_loan_customer_credit_code"),
        "dash_loan_customer",
        ["credit_code"],
        unique=False,
    )
    op.create_index(op.f("ix_dash_loan_customer_day"), "dash_loan_customer", ["day"], unique=False)
    op.create_table(
        "dash_loan_prospect",
        sa.Column("prospect_id", _TEXT(), nullable=False),
        sa.PrimaryKeyConstraint("prospect_id"),
    )
    op.create_table(
        "dash_batch_loans",
        sa.Column("outlet_id", _TEXT(), nullable=False),
        sa.Column("batch_id", _TEXT(), nullable=False),
        sa.Column("prospects", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("outlet_id", "batch_id"),
    )


def downgrade() -> None:
    op.drop_table("dash_batch_loans")
    op.drop_table("dash_loan_prospect")
    op.drop_index(op.f("ix_dash_loan_customer_day"), table_name="dash_loan_customer")
    op.drop_index(op.f("ix_dash_loan_customer_credit_code"), table_name="dash_loan_customer")
    op.drop_table("dash_loan_customer")
    op.drop_table("dash_loan_daily")
    op.drop_index(op.f("ix_dash_disbursal_prospect_id"), table_name="dash_disbursal")
    op.drop_table("dash_disbursal")
    op.drop_table("dash_contacts")
    op.drop_table("dash_first_contact")
    op.drop_table("dash_status")
    op.drop_table("dash_prospect")
    op.drop_table("dash_state")

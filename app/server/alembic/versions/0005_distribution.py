"""Versioned batches, withdrawn entries, the pool-return clock and field finds

Revision ID: 0005_distribution
Revises: 0004_close_reason
Create Date: 2026-12-01 21:40:00

- ``whitelist_batch.version``, ``outlet_id`` (a field batch's outlet), ``created_by``;
  ``whitelist_batch_version``: one row per import of a batch.
- ``prospect.batch_version`` (the version that last listed it), ``withdrawn_at`` and
  ``withdrawn_reason`` (it left every device), ``assigned_at`` (when it was handed to its
  assignee; existing assigned prospects count from their last update).
- ``field_lead``: businesses found in the field, waiting for review.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0005_distribution"
down_revision = "0004_close_reason"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column(
        "whitelist_batch", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("whitelist_batch", sa.Column("outlet_id", _text(), nullable=True))
    op.add_column("whitelist_batch", sa.Column("created_by", _text(), nullable=True))
    op.create_index(
        op.f("ix_whitelist_batch_outlet_id"), "whitelist_batch", ["outlet_id"], unique=False
    )
    op.create_table(
        "whitelist_batch_version",
        sa.Column("id", _text(), nullable=False),
        sa.Column("batch_id", _text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_name", _text(), nullable=False),
        sa.Column("mode", _text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", _text(), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_bad", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_whitelist_batch_version_batch_id"),
        "whitelist_batch_version",
        ["batch_id"],
        unique=False,
    )
    op.add_column(
        "prospect", sa.Column("batch_version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column("prospect", sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
    op.add_column(
        "prospect", sa.Column("withdrawn_reason", _text(), nullable=False, server_default="")
    )
    op.add_column("prospect", sa.Column("assigned_at", sa.DateTime(), nullable=True))
    op.create_index(op.f("ix_prospect_withdrawn_at"), "prospect", ["withdrawn_at"], unique=False)
    op.execute("UPDATE prospect SET assigned_at = updated_at WHERE assignee_id IS NOT NULL")
    op.create_table(
        "field_lead",
        sa.Column("finder_id", _text(), nullable=False),
        sa.Column("outlet_id", _text(), nullable=False),
        sa.Column("company_name", _text(), nullable=False),
        sa.Column("credit_code", _text(), nullable=False),
        sa.Column("contact_name", _text(), nullable=False),
        sa.Column("phone", _text(), nullable=False),
        sa.Column("industry", _text(), nullable=False),
        sa.Column("address", _text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("note", _text(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        sa.Column("review_reason", _text(), nullable=False),
        sa.Column("review_note", _text(), nullable=False),
        sa.Column("reviewed_by", _text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("prospect_id", _text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("id", _text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("credit_code", "finder_id", "outlet_id", "status"):
        op.create_index(op.f(f"ix_field_lead_{column}"), "field_lead", [column], unique=False)


def downgrade() -> None:
    for column in ("credit_code", "finder_id", "outlet_id", "status"):
        op.drop_index(op.f(f"ix_field_lead_{column}"), table_name="field_lead")
    op.drop_table("field_lead")
    op.drop_index(op.f("ix_prospect_withdrawn_at"), table_name="prospect")
    for column in ("assigned_at", "withdrawn_reason", "withdrawn_at", "batch_version"):
        op.drop_column("prospect", column)
    op.drop_index(op.f("ix_whitelist_batch_version_batch_id"), table_name="whitelist_batch_version")
    op.drop_table("whitelist_batch_version")
    op.drop_index(op.f("ix_whitelist_batch_outlet_id"), table_name="whitelist_batch")
    for column in ("created_by", "outlet_id", "version"):
        op.drop_column("whitelist_batch", column)

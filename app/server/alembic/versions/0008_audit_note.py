"""audit_event.note: an admin's words for a withdrawal of bad rows

Revision ID: 0008_audit_note
Revises: 0007_dashboards
Create Date: 2026-12-04 09:00:00

Head office withdraws entries it judged bad rows with a reason in words (双向传导); the
words went only to the process log. They now stay with each entry's audit event, so the
quality report shows who withdrew it and why. Earlier events get "".
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0008_audit_note"
down_revision = "0007_dashboards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_event",
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("audit_event", "note")

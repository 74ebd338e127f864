"""funnel_event.close_reason and close_note: why a prospect was closed

Revision ID: 0004_close_reason
Revises: 0003_auth
Create Date: 2026-12-08 10:00:00

A closing move (declined, invalid) carries a reason from the feedback list
(``app.models.feedback.FeedbackReason``) and, for ``other``, a note. Earlier events
had none: they get "" (the server default also lets an older replica that does not
yet write the columns insert events during a rolling upgrade).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0004_close_reason"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "funnel_event",
        sa.Column(
            "close_reason",
            sqlmodel.sql.sqltypes.AutoString(),
            nullable=False,
            server_default="",
        ),
    )
    op.add_column(
        "funnel_event",
        sa.Column(
            "close_note",
            sqlmodel.sql.sqltypes.AutoString(),
            nullable=False,
            server_default="",
        ),
    )


def downgrade() -> None:
    op.drop_column("funnel_event", "close_note")
    op.drop_column("funnel_event", "close_reason")

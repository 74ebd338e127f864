"""The branch's ranks and 分润 tallies, counted by a scheduled job (issue 11)

Revision ID: 0010_ranks
Revises: 0009_change_log_by_branch
Create Date: 2026-12-05 09:00:00

``GET /stats/ranks`` ranked the whole branch on the caller's request (cached a minute per
process) and summed 分润 per request. One scheduled job (``app.server.ranks``) now counts
both and keeps the result here; the request reads its caller's rows.

- ``rank_state``: which Beijing day was counted, from what (change-log seq, the loan
  tables' signature), and when (``as_of``).
- ``rank_entry``: per period × subject (user or outlet): the place in the branch, an
  outlet's figures, the 分润 in fen.

(Numbered 0010: 0009 is the change log's own; on merge this revises 0009.)
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0010_ranks"
down_revision = "0009_change_log_by_branch"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "rank_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("today", sa.Date(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("loans", _TEXT(), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rank_entry",
        sa.Column("period", _TEXT(), nullable=False),
        sa.Column("kind", _TEXT(), nullable=False),
        sa.Column("subject_id", _TEXT(), nullable=False),
        sa.Column("place", sa.Integer(), nullable=True),
        sa.Column("place_of", sa.Integer(), nullable=False),
        sa.Column("tied", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("contacted_prospects", sa.Integer(), nullable=False),
        sa.Column("disbursed_count", sa.Integer(), nullable=False),
        sa.Column("disbursed_amount", sa.BigInteger(), nullable=False),
        sa.Column("share_first", sa.BigInteger(), nullable=False),
        sa.Column("share_second", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "kind", "subject_id"),
    )


def downgrade() -> None:
    op.drop_table("rank_entry")
    op.drop_table("rank_state")

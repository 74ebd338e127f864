"""The branch's ranks and 分润 tallies as the store's scheduled job last counted them
(central store only, never synced): what ``GET /stats/ranks`` reads for its caller.

- ``rank_state``: the one row saying which Beijing day's week, month and quarter were
  counted, and from what (the change-log seq and the loan tables' signature it saw), and
  when (``as_of``: what was committed by then is counted).
- ``rank_entry``: per period × subject (a user or an outlet): the subject's place in the
  branch (``place`` of ``place_of``, ``tied`` sharing it; None for someone not ranked:
  not a marketer, or an inactive one with nothing done), an outlet's figures (contacts,
  contacted prospects, disbursed count and 元), and the 分润 credited in fen: a person's
  as marketer and as originator, an outlet's as booking outlet and its staff's.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class RankSubject(StrEnum):
    USER = "user"
    OUTLET = "outlet"


class RankState(SQLModel, table=True):
    __tablename__ = "rank_state"
    id: int = Field(primary_key=True)  # always 1
    today: date  # the Beijing day whose week, month and quarter were counted
    seq: int = Field(default=0, sa_type=BigInteger)  # the change-log seq the count saw
    loans: str = ""  # the loan tables' signature the count saw
    as_of: NaiveDatetime  # UTC: what was committed by then is counted


class RankEntry(SQLModel, table=True):
    __tablename__ = "rank_entry"
    period: str = Field(primary_key=True)  # Period: week, month, quarter
    kind: str = Field(primary_key=True)  # RankSubject
    subject_id: str = Field(primary_key=True)
    place: int | None = None  # None: not ranked
    place_of: int = 0
    tied: int = 0  # how many share the place (1: nobody else)
    contacts: int = 0  # an outlet's figures (0 for a person)
    contacted_prospects: int = 0
    disbursed_count: int = 0
    disbursed_amount: int = Field(default=0, sa_type=BigInteger)  # 元
    share_first: int = Field(default=0, sa_type=BigInteger)  # fen: as marketer / booking
    share_second: int = Field(default=0, sa_type=BigInteger)  # fen: as originator / staff's


RANK_TABLES = [RankState.__table__, RankEntry.__table__]

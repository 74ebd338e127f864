"""Outlets (网点): flagship 旗舰 / benchmark 标杆 / general 普及, under a sub-branch."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel


class OutletTier(StrEnum):
    FLAGSHIP = "flagship"
    BENCHMARK = "benchmark"
    GENERAL = "general"


class OutletBase(SQLModel):
    code: str = Field(index=True, unique=True)
    name: str
    tier: str = OutletTier.GENERAL
    branch_name: str  # the parent sub-branch (支行)
    address: str = ""
    lat: float  # WGS-84
    lon: float


class Outlet(OutletBase, table=True):
    id: str = Field(primary_key=True)
    rev: int = 0  # seq of its last change on the central store

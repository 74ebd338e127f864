"""Users: marketers (营销专员), outlet managers (网点负责人), sub-branch managers (支行负责人)
and admins (管理员). A sub-branch manager sits at one outlet of its sub-branch and reaches every
outlet whose ``branch_name`` is that outlet's (``app.services.scope``)."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel


class Role(StrEnum):
    MARKETER = "marketer"
    OUTLET_MANAGER = "outlet_manager"
    SUBBRANCH_MANAGER = "subbranch_manager"
    ADMIN = "admin"


class UserBase(SQLModel):
    employee_no: str = Field(index=True, unique=True)
    name: str
    role: str = Role.MARKETER
    outlet_id: str | None = Field(default=None, index=True)
    active: bool = True


class User(UserBase, table=True):
    id: str = Field(primary_key=True)
    # Only the central store fills this; it never leaves the server (not a sync column).
    password_hash: str = Field(default="", sa_column_kwargs={"server_default": ""})
    rev: int = 0


class UserCreate(UserBase):
    password: str

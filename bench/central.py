"""The uvicorn factory of the benchmarks' central store (settings from ``PUHUI_*``)."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.server.app import create_app


def create() -> FastAPI:
    return create_app(Settings())

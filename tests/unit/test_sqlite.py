"""The one SQLite set-up: the device store and a SQLite central store open alike."""

from __future__ import annotations

from app.server.db import make_engine
from app.sync.store import PAGE_CACHE_KB, DeviceStore


def _pragmas(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "busy_timeout", "cache_size")
        }


def test_device_and_central_store_share_the_setup_and_only_the_device_has_a_big_cache(tmp_path):
    device = DeviceStore(tmp_path / "device.sqlite3")
    central = make_engine(f"sqlite:///{tmp_path / 'nested' / 'store.sqlite3'}")
    try:
        on_device, on_store = _pragmas(device.engine), _pragmas(central)
    finally:
        device.close()
        central.dispose()
    shared = {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30_000}
    assert {k: on_device[k] for k in shared} == shared == {k: on_store[k] for k in shared}
    assert on_device["cache_size"] == -PAGE_CACHE_KB
    assert on_store["cache_size"] != -PAGE_CACHE_KB

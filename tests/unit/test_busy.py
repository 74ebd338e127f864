"""A busy store (429 + Retry-After) is waited out on the device: the backoff schedule, the
patient call, and the sync engine over ``httpx.MockTransport`` (the store in miniature).

Waiting is faked (the engine's ``patience.sleep`` records and returns at once); the
device store is a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.i18n import t
from app.sync.busy import BusyBackoff, Patience
from app.sync.errors import StoreBusy, SyncCancelled
from app.sync.state import SyncPhase
from app.sync.store import DeviceStore
from tests.unit.test_sync_client import (
    FakeStore,
    client_for,
    engine_for,
    phases,
    queue_reveal,
)


def busy(seconds: int = 3, code: str = "server.busy") -> httpx.Response:
    return httpx.Response(
        429,
        headers={"Retry-After": str(seconds)},
        json={"code": code, "message": f"中心库繁忙，请 {seconds} 秒后再试"},
    )


# -- the schedule ----------------------------------------------------------------------------


def test_waits_double_from_retry_after_up_to_the_cap():
    backoff = BusyBackoff(cap=20, jitter=lambda: 0.0)
    assert [backoff.next_wait(3) for _ in range(6)] == [3, 6, 12, 20, 20, 20]


def test_jitter_adds_up_to_half_again_never_less_than_asked():
    low = BusyBackoff(cap=60, jitter=lambda: 0.0)
    high = BusyBackoff(cap=60, jitter=lambda: 1.0)
    assert low.next_wait(4) == 4 and high.next_wait(4) == 6
    # however the dice fall, a wait stays within [asked, 1.5 × cap]
    rolls = iter([0.0, 0.3, 0.999, 0.5, 1.0, 0.1, 0.7, 0.2])
    backoff = BusyBackoff(cap=10, jitter=lambda: next(rolls))
    waits = [backoff.next_wait(2) for _ in range(8)]
    assert all(2 <= w <= 15 for w in waits), waits
    assert len(set(waits)) > 4  # devices refused together do not come back in step


def test_a_success_starts_the_doubling_over():
    backoff = BusyBackoff(cap=60, jitter=lambda: 0.0)
    backoff.next_wait(2), backoff.next_wait(2), backoff.next_wait(2)
    backoff.reset()
    assert backoff.next_wait(2) == 2


def test_a_missing_or_zero_retry_after_still_waits_a_second():
    assert BusyBackoff(jitter=lambda: 0.0).next_wait(0) == 1


# -- the patient call --------------------------------------------------------------------------


class Clock:
    """A fake sleep: records each wait, never sleeps; ``cancel_after`` waits, says cancelled."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.waits: list[float] = []
        self.cancel_after = cancel_after

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.cancel_after is not None and len(self.waits) >= self.cancel_after


def test_the_same_request_is_asked_again_after_each_busy_answer():
    answers = iter([StoreBusy(retry_after=2), StoreBusy(retry_after=2), "page"])
    clock, shown = Clock(), []

    def request() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    patience = Patience(
        BusyBackoff(jitter=lambda: 0.0), sleep=clock, on_wait=shown.append, max_waits=5
    )
    assert patience.call(request) == "page"
    assert sum(clock.waits) == pytest.approx(2 + 4)  # Retry-After, then doubled
    assert shown == [2, 1, 0, 4, 3, 2, 1, 0]  # the bar counts the seconds down
    assert patience.backoff.busy == 0  # answered: the next busy run starts from scratch


def test_a_store_busy_past_max_waits_stops_the_call():
    calls = 0

    def request() -> str:
        nonlocal calls
        calls += 1
        raise StoreBusy(retry_after=1)

    patience = Patience(BusyBackoff(jitter=lambda: 0.0), sleep=Clock(), max_waits=3)
    with pytest.raises(StoreBusy):
        patience.call(request)
    assert calls == 4  # the first ask and three more


def test_cancelling_during_a_wait_stops_at_once():
    def request() -> str:
        raise StoreBusy(retry_after=30)

    clock = Clock(cancel_after=1)
    with pytest.raises(SyncCancelled):
        Patience(BusyBackoff(jitter=lambda: 0.0), sleep=clock).call(request)
    assert clock.waits == [1]  # woke within the first second, not after 30


# -- the client and the engine ------------------------------------------------------------


def test_a_busy_store_is_a_store_busy_error_with_its_wait():
    with pytest.raises(StoreBusy) as exc:
        client_for(lambda _r: busy(7)).pull(None)
    assert exc.value.code == "server.busy" and exc.value.retry_after == 7
    assert t(exc.value.code, "zh", **exc.value.params) == "中心库繁忙，请 7 秒后再试"
    assert t(exc.value.code, "en", **exc.value.params) == (
        "The central store is busy; try again in 7 s"
    )


@pytest.fixture
def device(tmp_path: Path) -> Iterator[DeviceStore]:
    store = DeviceStore(tmp_path / "device.sqlite3")
    yield store
    store.close()


def test_a_first_sync_refused_midway_waits_and_completes(device):
    """Page 2 of 3 is refused twice; the run waits (the bar says so) and finishes with
    every page, nothing asked twice that was applied."""
    fake = FakeStore(pages=3)
    refusals = iter([busy(3), busy(3)])
    asked: list[str | None] = []

    def store(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/sync/pull":
            asked.append(request.url.params.get("cursor"))
            if request.url.params.get("cursor") == "c1":
                refusal = next(refusals, None)
                if refusal is not None:
                    return refusal
        return fake.answer(request)

    engine, seen = engine_for(device, fake)
    engine.client = client_for(store)
    clock = Clock()
    engine.patience.sleep = clock
    engine.patience.backoff.jitter = lambda: 0.0

    progress = engine.sync_once(verify=False)

    assert progress.phase == SyncPhase.DONE and not progress.error_code
    assert progress.snapshot_complete
    assert asked == [None, "c1", "c1", "c1", "c2"]
    assert sum(clock.waits) == pytest.approx(3 + 6)
    assert phases(seen) == [
        SyncPhase.PUSHING,
        SyncPhase.PULLING,
        SyncPhase.WAITING,
        SyncPhase.PULLING,
        SyncPhase.WAITING,
        SyncPhase.PULLING,
        SyncPhase.DONE,
    ]
    waiting = [p for p in seen if p.phase == SyncPhase.WAITING]
    assert [p.wait_seconds for p in waiting][:3] == [3, 2, 1]
    assert all(p.running for p in waiting)  # no error shown, the sync button stays busy
    assert t("sync.waiting", "zh", seconds=3) == "中心库繁忙，3 秒后重试"
    with device.read() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM outlet").scalar_one()
    assert rows == 3


def test_a_store_busy_through_every_wait_keeps_the_outbox_and_says_so(device):
    queue_reveal(device)
    fake = FakeStore()
    fake.fail = lambda _r: busy(1)
    engine, _seen = engine_for(device, fake)
    engine.patience.sleep = clock = Clock()
    engine.patience.max_waits = 4

    progress = engine.sync_once(verify=False)

    assert progress.phase == SyncPhase.FAILED
    assert progress.error_code == "sync.store_busy"
    assert progress.pending == 1 and not fake.pushed  # nothing lost, nothing sent twice
    assert len(clock.waits) >= 4
    assert t("sync.store_busy", "zh") == "中心库繁忙，稍后自动重试；记录已保存在本机"

    fake.fail = None  # the store has room again: the next run goes through
    progress = engine.sync_once(verify=False)
    assert progress.phase == SyncPhase.DONE and progress.pending == 0
    assert len(fake.pushed) == 1


def test_the_sync_bar_says_busy_briefly_and_the_screen_in_full():
    from app.views.shell import bar_error

    assert bar_error("sync.store_busy", "中心库繁忙，请 2 秒后再试", "zh") == "中心库繁忙"
    assert bar_error("sync.store_busy", "", "en") == "Central store busy"

"""One settings class for the workbench, the central store and the CLI.

Values come from the environment (prefix ``PUHUI_``) or a ``.env`` file; nothing
is built at import time: callers pass a ``Settings`` to ``create_app`` and friends.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the device keeps its SQLite file: Flet's storage dir, else a per-user dir."""
    flet_dir = os.environ.get("FLET_APP_STORAGE_DATA")
    if flet_dir:
        return Path(flet_dir)
    return Path(user_data_dir("puhui-workbench", "puhui"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUHUI_", env_file=".env", extra="ignore")

    # central store
    database_url: str = ""  # empty: SQLite file in the data dir
    # Signs every token: no default (a public one lets anyone mint an admin token).
    # ``serve`` refuses to start without one; ``run`` keeps its own in the data dir.
    secret_key: str = ""
    token_ttl_minutes: int = 12 * 60
    # sign-in throttle (app/services/signin.py): failures per account / per client
    # address within the window, and how long a lock lasts
    login_account_limit: int = 5
    login_client_limit: int = 20
    login_window_minutes: int = 15
    login_lock_minutes: int = 15
    pull_page_size: int = 5000
    push_batch_limit: int = 500
    # the store's connections to PostgreSQL, per process (``serve --workers N``: per
    # worker): ``db_pool_size`` kept open, up to ``db_max_overflow`` more under load, a
    # request waiting ``db_pool_timeout`` s for one before it is answered 429; one more,
    # outside the pool, LISTENs for the live updates (``listen_database_url``)
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_timeout: float = 30
    # behind a transaction-pooling proxy (PgBouncer ``pool_mode = transaction``): the store
    # sets nothing on a connection outside a transaction, not even at connect (the
    # proxy refuses libpq's ``options``); idle_in_transaction_session_timeout is then the
    # server's (a role setting, or PgBouncer's ``connect_query``; README "Operations")
    db_transaction_pooling: bool = False
    # LISTEN holds its connection for ever, which a transaction pooler cannot give: the
    # URL of the database itself (not the pooler's) for it; empty: ``database_url``
    listen_database_url: str = ""
    # admission control for the herd (app/server/admission.py): pull pages (a first sync's
    # and the log's) and checksums served at once by one process (0: no limit); up to
    # ``sync_queue`` more wait up to ``sync_queue_seconds`` for a place, on the event loop;
    # the rest are answered 429 with ``Retry-After: busy_retry_seconds`` at once, before
    # they take a thread or a connection
    sync_max_in_flight: int = 8
    sync_queue: int = 256
    sync_queue_seconds: float = 15
    busy_retry_seconds: int = 2
    # sign-ins served at once per process, each in a thread of its own (its password
    # check: argon2id, ~20 ms of CPU and 19 MiB); the others wait their turn on the event
    # loop without holding any of the threads every other request needs
    login_concurrency: int = 4
    # up to ``login_queue`` more wait up to ``login_queue_seconds`` for their turn; the rest
    # are answered 429 ``server.busy`` with ``Retry-After`` at once (a crowd at nine would
    # otherwise queue past the device's timeout), and the device asks again (app.sync.session)
    login_queue: int = 512  # a wait costs no thread, only a place on the event loop
    login_queue_seconds: float = 15
    # distribution (app/server/distribution.py, housekeeping.py): an assigned prospect not
    # contacted for this many days goes back to its outlet's pool (公海); the housekeeping
    # runs every so many seconds in each store process (0: never; the CLI runs it once)
    pool_return_days: int = 14
    housekeeping_interval_seconds: float = 3600
    # the change log and applied mutations' records are kept this many days
    # (app/server/pruning.py): a device away longer pulls its scope again
    change_log_horizon_days: int = Field(default=30, ge=1)
    # the dashboards' rollups (app/server/rollups.py) between two housekeeping rounds
    # (0: only with the housekeeping); the answers carry the time they are from
    dashboards_interval_seconds: float = 300
    # the branch's ranks and 分润 for /stats/ranks (app/server/ranks.py): counted at start-up
    # and then this often (0: only with the housekeeping); a count that finds nothing new
    # is two small reads
    ranks_interval_seconds: float = 60
    # profit sharing (分润) of a disbursed loan, in basis points of its amount, for a
    # product without its own ratio (share_ratio); the fen rounding leaves go to one party
    share_marketer_bp: int = 4000
    share_originator_bp: int = 3000
    share_booking_outlet_bp: int = 3000
    share_remainder_to: str = "marketer"
    # batch coverage: the share of a batch's entries first contacted within these many
    # days of its valid_from (dashboards, exports)
    coverage_windows: tuple[int, ...] = (7, 30)
    # GET /metrics: with a token, whoever bears it; without, only clients on this machine
    metrics_token: str = ""
    # live updates (app/server/live.py, GET /sync/events): open streams a process serves
    # (more: 429 with Retry-After), at most one poke per stream per coalescing window,
    # a keep-alive comment every so often, the token and user checked again every so
    # often (a revoked token or a disabled user ends the stream), and the browser's
    # ``retry:`` hint in milliseconds
    live_max_streams: int = 2000
    live_coalesce_seconds: float = 0.2
    live_ping_seconds: float = 15
    live_recheck_seconds: float = 30
    live_retry_ms: int = 5000
    live_busy_retry_seconds: int = 30

    # workbench (device)
    server_url: str = "http://127.0.0.1:8765"
    data_dir: Path = default_data_dir()
    device_db_path: Path | None = None
    offline_session_hours: int = 72
    push_batch_size: int = 100
    verify_interval_hours: int = 24
    # background sync (app/workbench/autosync.py), in seconds: with changes waiting to
    # upload, the next sync; with none, the next pull; after failures, a backoff that
    # doubles from ``sync_interval_seconds`` up to ``sync_backoff_max_seconds``; after a
    # change saved while online, a sync this soon
    sync_interval_seconds: float = 30
    pull_interval_seconds: float = 300
    sync_backoff_max_seconds: float = 300
    sync_debounce_seconds: float = 3
    # a store that answers 429 "busy" (the herd): the device waits its Retry-After,
    # doubled for each busy answer in a row up to ``sync_busy_max_wait_seconds``, plus up
    # to half as much again of jitter, and asks again, within the same sync; after
    # ``sync_busy_max_waits`` such waits in a row the sync stops (nothing is lost) and the
    # background sync tries again later
    sync_busy_max_wait_seconds: float = 60
    sync_busy_max_waits: int = 10
    # live updates on the device (app/workbench/live.py): a stream to the store while
    # signed in online; a poke brings a pull this soon; while the stream is up the timed
    # pull waits ``pull_interval`` times this factor (the stream tells of changes); a
    # stream silent this long (no keep-alive) is taken for dead and opened again
    live_updates: bool = True
    live_poke_debounce_seconds: float = 0.3
    live_pull_factor: float = 4
    live_read_timeout_seconds: float = 45

    # web mode
    web_host: str = "127.0.0.1"
    web_port: int = 8550

    # maps: an XYZ tile URL template, or empty for none (markers on a plain background)
    tile_url: str = ""
    tile_attribution: str = ""

    @model_validator(mode="after")
    def _split_is_whole(self) -> Settings:
        """The default split must share the whole loan, and its rounding go to a party."""
        from app.services.shares import ratio_problem  # the rule lives with the split

        problem = ratio_problem(
            self.share_marketer_bp,
            self.share_originator_bp,
            self.share_booking_outlet_bp,
            self.share_remainder_to,
        )
        if problem:
            raise ValueError(
                f"{problem}: share_marketer_bp + share_originator_bp + share_booking_outlet_bp "
                "must be 10000 (each 0-10000) and share_remainder_to one of marketer, "
                "originator, booking_outlet"
            )
        return self

    def server_database_url(self) -> str:
        if self.database_url:
            return normalise_db_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'central.sqlite3'}"

    def listen_url(self) -> str:
        """The database URL the live updates' LISTEN connection uses (never a pooler)."""
        if self.listen_database_url:
            return normalise_db_url(self.listen_database_url)
        return self.server_database_url()

    def secret_key_path(self) -> Path:
        """Where the embedded store (``main.py run``) keeps the key it made."""
        return self.data_dir / "secret_key"

    def device_database_path(self) -> Path:
        return self.device_db_path or (self.data_dir / "workbench.sqlite3")


def normalise_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the installed driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url

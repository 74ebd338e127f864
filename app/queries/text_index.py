"""The search box's text, held in memory: matches per status in a few milliseconds.

SQLite cannot index a two-character Chinese term (FTS5's trigrams need three), so
without this every search scans the names of every local prospect: ~25 ms of CPU
over 100,000 rows, ~45 ms at p95 with the page and counts (bench/search.py). This
index keeps every prospect's company name, legal representative and credit code as
three UTF-8 blobs, a line per prospect (ASCII lowered), with the status, scope,
position, line and score beside them. A term is found by ``bytes.find`` (C speed,
skipping to the next line after a hit); the matches are counted per status and,
when asked (``PageOrder``), one page of them is sorted, without reading a table row.

Kept current by the store, not by the caller (``TEXT_INDEX_DDL``): triggers on
``prospect`` note the rowid of every row inserted, deleted, or changed in a column
held here, with an increasing ``seq``, in ``prospect_touch``. ``refresh(conn)``
reads the rowids noted since its last look and re-reads only those rows; a
``row = -1`` note (the triggers were created or dropped, around a snapshot) or too
many notes rebuild it whole. Without the triggers (a first sync still landing) the
index declines, and the search scans in SQL as before.

Matching agrees with app/queries/whitelist.py's SQL: a term is looked for inside the
company name and the legal representative, and, when it is Latin letters and digits,
the credit code; a term of digits only (under 4: longer ones are phone tails and
stay in SQL) inside the company name alone. ASCII letters ignore case, as LIKE does.
"""

from __future__ import annotations

import heapq
import logging
import re
import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from app.services.scope import ViewScope

log = logging.getLogger(__name__)

_NEWLINE = re.compile(b"\n")
_REBUILD = -1  # a note's row meaning "start again"
_MAX_PATCH = 5_000  # more notes than this since the last look: rebuild
# In a trigger an "OR REPLACE" would yield to the outer statement's conflict policy
# (an "INSERT OR IGNORE" raises then): delete, then insert.
_TOUCH = (
    "DELETE FROM prospect_touch WHERE row = {row};"
    " INSERT INTO prospect_touch (row, seq)"
    " VALUES ({row}, (SELECT coalesce(max(seq), 0) + 1 FROM prospect_touch))"
)
# text (1-3), scope and chips (4-6), and what the page sorts by (7-10)
_HELD = (
    "company_name, legal_rep, credit_code, status, assignee_id, outlet_id,"
    " lat, lon, pre_approved_line, score"
)

# Created with the screens' indexes once a snapshot has landed (app/sync/store.py).
TEXT_INDEX_TABLE_DDL = [
    "CREATE TABLE IF NOT EXISTS prospect_touch (row INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_prospect_touch_seq ON prospect_touch (seq)",
]
TEXT_INDEX_DDL = [
    "CREATE TRIGGER IF NOT EXISTS tr_prospect_touch_insert AFTER INSERT ON prospect"
    f" BEGIN {_TOUCH.format(row='new.rowid')}; END",
    f"CREATE TRIGGER IF NOT EXISTS tr_prospect_touch_update AFTER UPDATE OF {_HELD}"
    f" ON prospect BEGIN {_TOUCH.format(row='new.rowid')}; END",
    "CREATE TRIGGER IF NOT EXISTS tr_prospect_touch_delete AFTER DELETE ON prospect"
    f" BEGIN {_TOUCH.format(row='old.rowid')}; END",
]
TEXT_INDEX_TRIGGERS = [ddl.split(" IF NOT EXISTS ")[1].split()[0] for ddl in TEXT_INDEX_DDL]


def note_rebuild(conn: Connection) -> None:
    """Tell every text index to start again (the triggers were just created or dropped)."""
    for ddl in TEXT_INDEX_TABLE_DDL:
        conn.exec_driver_sql(ddl)
    for statement in _TOUCH.format(row=_REBUILD).split(";"):
        conn.exec_driver_sql(statement)


@dataclass(frozen=True)
class PageOrder:
    """A page of the matches the index sorts itself, as app/queries/whitelist.py's SQL
    would: nearest first (rowid breaking ties), or largest line or score first (the
    larger rowid first on ties)."""

    sort: str  # "distance", "line" or "score"
    offset: int
    limit: int
    statuses: frozenset[str] = frozenset()  # empty: every status
    origin: tuple[float, float, float] | None = None  # lat, lon, cos(lat): "distance"


@dataclass(frozen=True)
class TextMatches:
    """The prospects in scope whose text holds every term."""

    status_counts: dict[str, int]
    rowids: list[int]  # every match in rowid order; empty when a page was asked for
    page: list[int] | None = None  # the page's rowids, when a ``PageOrder`` was given


class TextIndex:
    """The device's prospects' text in memory (one per device store; thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: int | None = None  # the last note read; None: nothing built
        self._rowids: list[int] = []
        self._fields: list[list[str]] = [[], [], []]  # name, legal rep, credit code
        self._status: list[str | None] = []  # None: deleted
        self._assignee: list[str | None] = []
        self._outlet: list[str | None] = []
        self._sort: list[tuple[Any, Any, Any, Any]] = []  # lat, lon, line, score
        self._at: dict[int, int] = {}  # rowid -> position
        self._blobs: list[_Blob] = []  # one per field; dropped when a text changes

    # -- keeping current ------------------------------------------------------------------

    def refresh(self, conn: Connection) -> bool:
        """Catch up with the store; False when the store keeps no notes (use SQL)."""
        with self._lock:
            if not _has_triggers(conn):
                self._seq = None
                return False
            last = int(conn.exec_driver_sql("SELECT max(seq) FROM prospect_touch").scalar() or 0)
            if self._seq is not None and last == self._seq:
                return True
            touched: list[int] = []
            if self._seq is not None:
                touched = [
                    r[0]
                    for r in conn.exec_driver_sql(
                        "SELECT row FROM prospect_touch WHERE seq > ? LIMIT ?",
                        (self._seq, _MAX_PATCH + 1),
                    )
                ]
            if self._seq is None or _REBUILD in touched or len(touched) > _MAX_PATCH:
                self._build(conn)
            else:
                self._patch(conn, touched)
            self._seq = last
            return True

    def _build(self, conn: Connection) -> None:
        rows = conn.exec_driver_sql(f"SELECT rowid, {_HELD} FROM prospect ORDER BY rowid").all()
        self._rowids = [r[0] for r in rows]
        self._at = {rowid: i for i, rowid in enumerate(self._rowids)}
        self._fields = [[r[k] or "" for r in rows] for k in (1, 2, 3)]
        self._status = [r[4] for r in rows]
        self._assignee = [r[5] for r in rows]
        self._outlet = [r[6] for r in rows]
        self._sort = [(r[7], r[8], r[9], r[10]) for r in rows]
        self._blobs = []
        log.debug("text index built: %d prospects", len(rows))

    def _patch(self, conn: Connection, rowids: Sequence[int]) -> None:
        found = {
            r[0]: r
            for r in conn.exec_driver_sql(
                f"SELECT rowid, {_HELD} FROM prospect"
                " WHERE rowid IN (SELECT value FROM json_each(?))",
                ("[" + ",".join(map(str, rowids)) + "]",),
            )
        }
        for rowid in rowids:
            row, i = found.get(rowid), self._at.get(rowid)
            if i is None:
                if row is None:
                    continue
                i = self._at[rowid] = len(self._rowids)
                self._rowids.append(rowid)
                for column in (self._status, self._assignee, self._outlet, self._sort):
                    column.append(None)  # type: ignore[arg-type]
                for texts in self._fields:
                    texts.append("")
            for k, texts in enumerate(self._fields):
                value = "" if row is None else (row[k + 1] or "")
                if texts[i] != value:
                    texts[i] = value
                    self._blobs = []
            self._status[i] = None if row is None else row[4]
            self._assignee[i] = None if row is None else row[5]
            self._outlet[i] = None if row is None else row[6]
            self._sort[i] = (None, None, None, None) if row is None else tuple(row[7:11])  # type: ignore[assignment]

    # -- searching --------------------------------------------------------------------------

    def match(
        self,
        terms: Iterable[str],
        *,
        scope: ViewScope | str = ViewScope.ALL,
        user_id: str | None = None,
        outlet_id: str | None = None,
        limit: int | None = None,
        order: PageOrder | None = None,
    ) -> TextMatches | None:
        """Prospects in ``scope`` holding every term, with their count per status, and
        either all their rowids or, with ``order``, one sorted page of them.

        None when a term occurs more than ``limit`` times: too common for a list of
        matches to help (the caller scans instead).
        """
        with self._lock:
            if not self._blobs:
                self._blobs = [_Blob(texts) for texts in self._fields]
            hits: set[int] | None = None
            for term in terms:
                needle = term.encode("utf-8").lower()  # ASCII letters only, as the blobs
                fields = self._blobs[:1]  # digits: neither a person's name nor a code fragment
                if not needle.isdigit():
                    fields = self._blobs[: 3 if needle.isalnum() else 2]
                found: set[int] = set()
                for blob in fields:
                    more = blob.rows_with(needle, limit)
                    if more is None:
                        return None
                    found |= more
                if limit is not None and len(found) > limit:
                    return None
                hits = found if hits is None else hits & found
                if not hits:
                    break
            keep = view_test(scope, user_id, outlet_id, self._assignee, self._outlet)
            status = self._status
            chosen = sorted(
                i for i in hits or () if status[i] is not None and (keep is None or keep(i))
            )
            counts = dict(Counter(str(status[i]) for i in chosen))
            if order is None:
                return TextMatches(counts, [self._rowids[i] for i in chosen])
            return TextMatches(counts, [], self._page(chosen, order))

    def _page(self, chosen: list[int], order: PageOrder) -> list[int]:
        rowids, status, values = self._rowids, self._status, self._sort
        if order.statuses:
            chosen = [i for i in chosen if status[i] in order.statuses]
        wanted = order.offset + order.limit
        if order.sort == "distance":
            assert order.origin is not None
            olat, olon, ocos = order.origin
            # the same float arithmetic as the SQL's equirectangular distance
            keyed = [
                (
                    (v[0] - olat) * (v[0] - olat) + ((v[1] - olon) * ocos) * ((v[1] - olon) * ocos),
                    rowids[i],
                )
                for i in chosen
                for v in (values[i],)
            ]
            best = heapq.nsmallest(wanted, keyed)
        else:
            column = 2 if order.sort == "line" else 3
            best = heapq.nlargest(wanted, [(values[i][column], rowids[i]) for i in chosen])
        return [rowid for _, rowid in best[order.offset :]]


class _Blob:
    """One field of every prospect as UTF-8, a line each, ASCII letters lowered."""

    def __init__(self, texts: list[str]) -> None:
        joined = "\n".join(texts)
        if joined.count("\n") != len(texts) - 1:  # a line break inside a text: a space
            joined = "\n".join(t.replace("\n", " ") for t in texts)
        # bytes.lower() folds ASCII letters only: what SQLite's LIKE folds
        self.data = (joined + "\n").encode("utf-8").lower()
        self.ends = [m.start() for m in _NEWLINE.finditer(self.data)]  # line i ends here

    def rows_with(self, needle: bytes, limit: int | None = None) -> set[int] | None:
        """The lines holding ``needle``; None past ``limit`` of them."""
        ends, find = self.ends, self.data.find
        cap = len(ends) if limit is None else limit
        found: set[int] = set()
        at = find(needle)
        while at != -1:
            i = bisect_left(ends, at)
            found.add(i)
            if len(found) > cap:
                return None
            at = find(needle, ends[i] + 1)  # one hit is enough: on to the next prospect
        return found


def _has_triggers(conn: Connection) -> bool:
    marks = ", ".join("?" for _ in TEXT_INDEX_TRIGGERS)
    found = conn.exec_driver_sql(
        f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})",
        tuple(TEXT_INDEX_TRIGGERS),
    ).scalar()
    return found == len(TEXT_INDEX_TRIGGERS)


def view_test(
    view: ViewScope | str,
    user_id: str | None,
    outlet_id: str | None,
    assignee: Sequence[str | None],
    outlet: Sequence[str | None],
) -> Callable[[int], bool] | None:
    """``app.services.scope.in_view`` as a test on a position of ``assignee``/``outlet``
    (None: every position). A closure per view, not ``in_view`` per row: a common term
    tests thousands of rows, where ``in_view`` costs ~1.4 µs a call (~7 ms per 5,000),
    this ~0.15 µs. tests/unit/queries/test_text_index.py holds it to ``in_view``."""

    def mine(i: int) -> bool:
        return user_id is not None and assignee[i] == user_id

    def pool(i: int) -> bool:
        return outlet_id is not None and outlet[i] == outlet_id and assignee[i] is None

    def at_outlet(i: int) -> bool:
        return outlet_id is not None and outlet[i] == outlet_id

    def mine_or_pool(i: int) -> bool:
        return mine(i) or pool(i)

    match ViewScope(view):
        case ViewScope.ALL:
            return None
        case ViewScope.MINE:
            return mine
        case ViewScope.POOL:
            return pool
        case ViewScope.OUTLET:
            return at_outlet
        case ViewScope.MINE_AND_POOL:
            return mine_or_pool

"""Puhui Workbench command line: wiring only.

python main.py run                      central store (SQLite, demo data) + workbench
python main.py serve --db URL --port P [--workers N]   the central store alone
python main.py demo-data --db URL       load generated demo data into a central store
python main.py create-user ...          add a user to a central store
python main.py import-batch FILE --db URL --name … | --batch ID   import a whitelist file
python main.py batches --db URL         the batches with their counts by outlet and status
python main.py expire-batches --db URL  withdraw the entries of batches past their validity
python main.py housekeeping --db URL    run the store's housekeeping once (pool return, …)
python main.py create-api-key --name N  a service account's key for the loan feed (shown once)
python main.py revoke-api-key --name N  revoke it
python main.py api-keys --db URL        the keys: name, prefix, made, last used, revoked
python main.py import-loans FILE        loan events from a CSV (the loan feed without an API)
python main.py export KIND --out FILE   a report as .xlsx (quality --batch ID; shares, targets,
                                        league, participation, performance --period P; batches;
                                        bulletin --period 2026-Q4 --outlet CODE)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _settings(**overrides: object):  # type: ignore[no-untyped-def]
    from app.config import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _refuse_weak_key(exc) -> None:  # type: ignore[no-untyped-def]
    """Exit non-zero, saying in both languages why the key will not do."""
    from app.i18n import t
    from app.server.security import MIN_SECRET_KEY_LENGTH

    sys.exit(
        f"{t(exc.code, 'zh', min=MIN_SECRET_KEY_LENGTH)}\n{t(exc.code, 'en', min=MIN_SECRET_KEY_LENGTH)}"
    )


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.server.app import create_app
    from app.server.db import engine_for, migrate
    from app.server.observe import configure_json_logging
    from app.server.security import SecretKeyError, check_secret_key

    settings = _settings(database_url=args.db)
    try:
        check_secret_key(settings.secret_key)  # before migrating anything
    except SecretKeyError as exc:
        _refuse_weak_key(exc)
    if args.workers < 1:
        sys.exit("--workers: at least 1")
    if args.workers > 1 and not settings.server_database_url().startswith("postgresql"):
        # SQLite: one writer process, and live updates fan out within a process only
        sys.exit("--workers > 1 needs PostgreSQL (--db postgresql://…); SQLite serves one process")
    configure_json_logging()  # one JSON line per request, with its request id
    # uvicorn's own access lines would repeat ours without the request id or route; open
    # event streams end on SIGTERM (sse-starlette), and past 5 s what is left is cancelled
    options: dict = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "access_log": False,
        "timeout_graceful_shutdown": 5,
        # longer than a device keeps an idle connection (httpx: 5 s), so the store never
        # closes one just as a device sends on it (RemoteProtocolError in a herd)
        "timeout_keep_alive": 75,
    }
    where = f"http://{args.host}:{args.port}"
    if args.workers == 1:
        app = create_app(settings)
        print(f"中心库 central store: {where}  (OpenAPI: /docs, /openapi.json)", flush=True)
        uvicorn.run(app, **options)
        return
    engine = engine_for(settings)  # migrated once here, before any worker starts
    migrate(engine)
    engine.dispose()
    if args.db:  # each worker builds its settings from the environment
        os.environ["PUHUI_DATABASE_URL"] = args.db
    print(
        f"中心库 central store: {where}, {args.workers} workers  (OpenAPI: /docs, /openapi.json)",
        flush=True,
    )
    uvicorn.run("app.server.app:worker_app", factory=True, workers=args.workers, **options)


def cmd_demo_data(args: argparse.Namespace) -> None:
    from app.demo import generate
    from app.models.ids import utcnow
    from app.server.admin import is_empty, load_demo, report_demo_loans
    from app.server.db import engine_for, migrate
    from app.server.housekeeping import dashboards_job
    from app.server.loans import default_ratio

    settings = _settings(database_url=args.db)
    engine = engine_for(settings)
    migrate(engine)
    if not is_empty(engine) and not args.force:
        sys.exit("The central store already has data; use --force to add demo data anyway.")
    started = time.perf_counter()
    data = generate(prospects=args.prospects, seed=args.seed)
    counts = load_demo(engine, data)
    loans = report_demo_loans(engine, data, default_ratio(settings))
    dashboards_job(engine, settings, utcnow())  # the dashboards count the loans at once
    took = time.perf_counter() - started
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    feed = ", ".join(f"{k} {v}" for k, v in sorted(loans.items()))
    print(f"demo data loaded in {took:.1f}s: {summary}; loan feed: {feed}")


def cmd_create_user(args: argparse.Namespace) -> None:
    from app.server.admin import create_user
    from app.server.db import engine_for, migrate

    if args.role == "subbranch_manager" and not args.outlet:
        sys.exit("A sub-branch manager needs --outlet: its sub-branch is that outlet's.")
    engine = engine_for(_settings(database_url=args.db))
    migrate(engine)
    user = create_user(
        engine,
        employee_no=args.employee_no,
        name=args.name,
        role=args.role,
        outlet_id=args.outlet,
        password=args.password,
    )
    print(f"created {user.role} {user.employee_no} ({user.name}) id={user.id}")


def _store(db: str | None):  # type: ignore[no-untyped-def]
    from app.server.db import engine_for, migrate

    engine = engine_for(_settings(database_url=db))
    migrate(engine)
    return engine


def _importer(engine, employee_no: str | None):  # type: ignore[no-untyped-def]
    """The user an import runs as: ``employee_no``, or the first active admin."""
    from sqlalchemy import select
    from sqlmodel import Session

    from app.models import Role, User

    with Session(engine) as session:
        stmt = select(User).where(User.active.is_(True))  # type: ignore[attr-defined]
        if employee_no:
            stmt = stmt.where(User.employee_no == employee_no)
        else:
            stmt = stmt.where(User.role == Role.ADMIN).order_by(User.employee_no)
        user = session.execute(stmt).scalars().first()
        if user is not None:
            session.expunge(user)
    if user is None:
        sys.exit(f"no active user {employee_no}" if employee_no else "no active admin to import as")
    return user


def cmd_import_batch(args: argparse.Namespace) -> None:
    from app.i18n import t
    from app.server import batches
    from app.server.errors import StoreError
    from app.services import whitelist_import
    from app.services.whitelist_import import Datum, ImportFileError

    path = Path(args.file)
    if path.stat().st_size > whitelist_import.MAX_FILE_BYTES:
        sys.exit(t("import.too_large", "zh", limit=whitelist_import.MAX_FILE_BYTES // 2**20))
    data = path.read_bytes()
    engine = _store(args.db)
    user = _importer(engine, args.as_user)
    mode = "valid_only" if args.valid_only else "all"
    try:
        meta = None
        if not args.batch:
            meta = batches.parse_meta(
                args.name, args.product, args.source, args.valid_from, args.valid_until
            )
        checked = batches.check_file(
            engine, user, data, path.name, datum=Datum(args.datum), batch_id=args.batch
        )
    except ImportFileError as exc:
        sys.exit(t("batch.cli.refused", "zh", reason=whitelist_import.describe_file_error(exc)))
    except StoreError as exc:
        sys.exit(t("batch.cli.refused", "zh", reason=t(exc.code, "zh", **exc.params)))
    found = checked.preview
    print(
        t("batch.cli.summary", "zh", total=found.total, valid=len(found.rows), bad=found.bad_lines)
    )
    for problem in found.problems:
        message = whitelist_import.describe(problem, "zh")
        print(
            t(
                "batch.cli.problem",
                "zh",
                line=problem.line,
                column=problem.column,
                message=message,
                value=f"（{problem.value}）" if problem.value else "",
            )
        )
    if checked.outlets:
        print(t("batch.cli.outlets", "zh"))
    for code, n in checked.outlets.items():
        print(f"  {code}: {n}")
    if args.report and found.problems:
        Path(args.report).write_bytes(whitelist_import.error_report(found, "zh"))
        print(t("batch.cli.report", "zh", path=args.report))
    try:
        result = batches.commit_checked(engine, user, data, checked, mode=mode, meta=meta)
    except StoreError as exc:
        print(t("batch.cli.refused", "zh", reason=t(exc.code, "zh", **exc.params)), file=sys.stderr)
        sys.exit(1)
    print(
        t(
            "batch.cli.committed",
            "zh",
            batch_id=result.batch_id,
            version=result.version,
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
            withdrawn=result.withdrawn,
        )
    )


def cmd_batches(args: argparse.Namespace) -> None:
    from app.i18n import t
    from app.server import batches
    from app.server.db import read_session
    from app.server.scope import scope_of

    engine = _store(args.db)
    user = _importer(engine, args.as_user)
    with read_session(engine) as session:
        listed = batches.list_batches(session, scope_of(session, user))
    for b in listed:
        expired = " 已过期" if b["expired"] else ""
        print(
            f"{b['id']}  {b['name']} · {b['product']} · {b['source']} · 第 {b['version']} 版 · "
            f"{b['valid_from']} 至 {b['valid_until']}{expired} · {b['total']} 户"
            f"（撤下 {b['withdrawn']}）"
        )
        statuses = ", ".join(f"{t(f'funnel.{k}', 'zh')} {v}" for k, v in b["by_status"].items())
        print(f"    状态: {statuses}")
        outlets = ", ".join(f"{o['code']} {o['name']} {o['count']}" for o in b["by_outlet"])
        print(f"    网点: {outlets}")


def cmd_expire_batches(args: argparse.Namespace) -> None:
    from app.i18n import t
    from app.server import batches

    print(t("batch.expired_done", "zh", count=batches.expire(_store(args.db))))


def cmd_housekeeping(args: argparse.Namespace) -> None:
    from app.server.db import engine_for, migrate
    from app.server.housekeeping import run_housekeeping

    settings = _settings(database_url=args.db, pool_return_days=args.days)
    engine = engine_for(settings)
    migrate(engine)
    done = run_housekeeping(engine, settings)
    print("housekeeping: " + ", ".join(f"{k} {v}" for k, v in done.items()))
    if any(v < 0 for v in done.values()):
        sys.exit(1)


def cmd_create_api_key(args: argparse.Namespace) -> None:
    from app.i18n import t
    from app.server.api_keys import ApiKeyError, create_api_key

    engine = _store(args.db)
    try:
        key = create_api_key(engine, name=args.name, endpoint=args.endpoint)
    except ApiKeyError as exc:
        sys.exit(t(exc.code, "zh", **exc.params))
    prefix = key.split("_")[1]
    print(
        t("apikey.cli.created", "zh", name=args.name.strip(), prefix=prefix, endpoint=args.endpoint)
    )
    print(key)


def cmd_revoke_api_key(args: argparse.Namespace) -> None:
    from app.i18n import format_datetime, t
    from app.server.api_keys import ApiKeyError, revoke_api_key

    try:
        at = revoke_api_key(_store(args.db), name=args.name)
    except ApiKeyError as exc:
        sys.exit(t(exc.code, "zh", **exc.params))
    print(t("apikey.cli.revoked", "zh", name=args.name.strip(), at=format_datetime(at)))


def cmd_api_keys(args: argparse.Namespace) -> None:
    from app.i18n import format_datetime, t
    from app.server.api_keys import list_api_keys

    keys = list_api_keys(_store(args.db))
    if not keys:
        print(t("apikey.cli.none", "zh"))
    for k in keys:
        revoked = (
            t("apikey.cli.revoked_at", "zh", at=format_datetime(k.revoked_at))
            if k.revoked_at
            else t("apikey.cli.active", "zh")
        )
        print(
            t(
                "apikey.cli.row",
                "zh",
                name=k.name,
                prefix=k.prefix,
                endpoint=k.endpoint,
                created=format_datetime(k.created_at),
                used=format_datetime(k.last_used_at),
                revoked=revoked,
            )
        )


def cmd_import_loans(args: argparse.Namespace) -> None:
    """The loan feed from a file: each row judged as an API event (source "csv"); exit 1
    when any row was rejected."""
    from app.i18n import Msg, t
    from app.server import loans
    from app.server.db import write_session
    from app.services.import_read import ImportFileError
    from app.services.loan_import import MAX_FILE_BYTES, read_loan_file

    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError("import.too_large", limit=MAX_FILE_BYTES // 2**20)
        found = read_loan_file(path.read_bytes())
    except ImportFileError as exc:
        sys.exit(t("loans.cli.refused", "zh", reason=t(exc.code, "zh", **exc.params)))
    settings = _settings(database_url=args.db)
    engine = _store(args.db)
    ratio = loans.default_ratio(settings)
    results = []
    for start in range(0, len(found.rows), loans.CHUNK):  # one transaction per chunk
        chunk = found.rows[start : start + loans.CHUNK]
        with write_session(engine) as session:
            results += loans.report_events(
                session,
                [fields for _, fields in chunk],
                source=loans.Source("csv"),
                ratio=ratio,
                indexes=[line for line, _ in chunk],
            )
    counts = dict.fromkeys(("applied", "recorded", "queued", "duplicate", "rejected"), 0)
    for r in results:
        counts[r.outcome] += 1
        print(
            t(
                "loans.cli.row",
                "zh",
                line=r.index,
                loan_id=r.loan_id or "—",
                status=Msg(f"loan.status.{r.status}")
                if r.status in loans.STATUS_ORDER
                else r.status,
                outcome=Msg(f"loan.outcome.{r.outcome}"),
                message=r.message,
            ).rstrip()
        )
    print(t("loans.cli.summary", "zh", total=len(results), **counts))
    if counts["rejected"]:
        sys.exit(1)


def cmd_export(args: argparse.Namespace) -> None:
    """A report of the export registry written to ``--out``, as the user ``--as`` (default:
    an admin) would download it; exit 1 with the reason when refused."""
    from app.i18n import t
    from app.server import exports
    from app.server.db import read_session
    from app.server.errors import StoreError

    engine = _store(args.db)
    user = _importer(engine, args.as_user)
    params = exports.ExportParams(
        period=args.period,
        batch_id=args.batch,
        outlet=args.outlet,
        lang=args.lang,
        windows=tuple(_settings(database_url=args.db).coverage_windows),
    )
    try:
        with read_session(engine) as session:
            found = exports.export(session, user, args.kind, params)
    except StoreError as exc:
        sys.exit(t("export.cli.refused", args.lang, reason=t(exc.code, args.lang, **exc.params)))
    out = Path(args.out)
    out.write_bytes(found.data)
    print(t("export.cli.written", args.lang, path=out, name=found.name))


def _start_store_in_background(settings, port: int) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from app.demo import generate
    from app.models.ids import utcnow
    from app.server.admin import is_empty, load_demo, report_demo_loans
    from app.server.app import create_app
    from app.server.housekeeping import dashboards_job
    from app.server.loans import default_ratio

    app = create_app(settings)
    # The embedded store shares the workbench's console: its per-request lines are noise there.
    logging.getLogger("app.server.access").setLevel(logging.WARNING)
    engine = app.state.engine
    if is_empty(engine):
        print("首次运行：正在生成演示数据… (first run: creating demo data)")
        data = generate()
        load_demo(engine, data)
        report_demo_loans(engine, data, default_ratio(settings))  # 分润, participation
        dashboards_job(engine, settings, utcnow())  # the dashboards have figures at once
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True, name="central-store").start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)


def _has_desktop() -> bool:
    if not (os.environ.get("DISPLAY") or sys.platform in ("darwin", "win32")):
        return False
    try:
        import flet_desktop  # noqa: F401
    except ImportError:
        return False
    return True


def cmd_run(args: argparse.Namespace) -> None:
    import flet as ft

    from app.demo import DEMO_MARKETER, DEMO_PASSWORD
    from app.server.security import SecretKeyError, check_secret_key, local_secret_key
    from app.views.app import build_main
    from app.web_client import (
        disconnect_sessions_however_their_socket_ends,
        forget_public_maps,
        serve_map_pages,
        write_web_font_manifest,
    )
    from app.workbench.map import MapPages

    store_url = f"http://127.0.0.1:{args.store_port}"
    settings = _settings(database_url=args.db, server_url=store_url)
    if not args.no_store:
        if not settings.secret_key:  # the embedded store: its own key, kept in the data dir
            key = local_secret_key(settings.secret_key_path())
            settings = settings.model_copy(update={"secret_key": key})
        try:
            check_secret_key(settings.secret_key)
        except SecretKeyError as exc:
            _refuse_weak_key(exc)
        _start_store_in_background(settings, args.store_port)
    login = None if args.no_login else (args.user or DEMO_MARKETER, args.password or DEMO_PASSWORD)
    map_pages = MapPages()
    main = build_main(settings, login=login, map_pages=map_pages)
    assets = str(ROOT / "assets")
    forget_public_maps(ROOT / "assets")
    if _has_desktop() and not args.web:
        ft.run(main, assets_dir=assets)
        return
    import uvicorn

    write_web_font_manifest(ROOT / "assets")
    disconnect_sessions_however_their_socket_ends()
    web = ft.run(main, export_asgi_app=True, assets_dir=assets, no_cdn=True)
    serve_map_pages(web, map_pages)
    url = f"http://{args.host}:{args.port}"
    print(f"普惠营销工作台 Puhui Workbench: {url}", flush=True)
    if args.open:
        import webbrowser

        threading.Timer(1.5, webbrowser.open, [url]).start()
    uvicorn.run(web, host=args.host, port=args.port, ws="websockets-sansio", log_level="warning")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="普惠营销工作台 Puhui Workbench")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="central store on SQLite with demo data + the workbench")
    run.add_argument("--db", help="central store database URL (default: SQLite in the data dir)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8550, help="workbench web port")
    run.add_argument("--store-port", type=int, default=8765)
    run.add_argument("--no-store", action="store_true", help="use an already running store")
    run.add_argument("--user", help="employee number to sign in as (default: demo marketer)")
    run.add_argument("--password")
    run.add_argument("--no-login", action="store_true", help="start on the log-in screen")
    run.add_argument("--web", action="store_true", help="serve in the browser even with a display")
    run.add_argument("--open", action="store_true", help="open a browser tab")
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="the central store alone")
    serve.add_argument("--db", help="database URL, e.g. postgresql://postgres@127.0.0.1:5432/test")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the API (PostgreSQL only; each has its own connection pool)",
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo-data", help="load deterministic demo data into a central store")
    demo.add_argument("--db")
    demo.add_argument("--prospects", type=int, default=6000)
    demo.add_argument("--seed", type=int, default=20240112)
    demo.add_argument("--force", action="store_true")
    demo.set_defaults(func=cmd_demo_data)

    user = sub.add_parser("create-user", help="add a user to a central store")
    user.add_argument("--db")
    user.add_argument("--employee-no", required=True)
    user.add_argument("--name", required=True)
    user.add_argument(
        "--role",
        choices=["marketer", "outlet_manager", "subbranch_manager", "admin"],
        required=True,
    )
    user.add_argument(
        "--outlet", help="outlet id (a sub-branch manager's: any outlet of its sub-branch)"
    )
    user.add_argument("--password", required=True)
    user.set_defaults(func=cmd_create_user)

    imp = sub.add_parser("import-batch", help="import a whitelist file (.xlsx or .csv)")
    imp.add_argument("file")
    imp.add_argument("--db")
    imp.add_argument("--name", help="a new batch's name")
    imp.add_argument("--product")
    imp.add_argument("--source", default="head_office", choices=["head_office", "branch", "field"])
    imp.add_argument("--valid-from", help="YYYY-MM-DD")
    imp.add_argument("--valid-until", help="YYYY-MM-DD")
    imp.add_argument("--batch", help="import a new version of this batch (its id)")
    imp.add_argument("--datum", default="wgs84", choices=["wgs84", "gcj02", "bd09"])
    imp.add_argument("--valid-only", action="store_true", help="leave bad rows out")
    imp.add_argument("--report", help="write the error report (.xlsx) here")
    imp.add_argument("--as", dest="as_user", help="employee number (default: an admin)")
    imp.set_defaults(func=cmd_import_batch)

    listing = sub.add_parser("batches", help="whitelist batches with counts by outlet and status")
    listing.add_argument("--db")
    listing.add_argument("--as", dest="as_user", help="employee number (default: an admin)")
    listing.set_defaults(func=cmd_batches)

    expire = sub.add_parser("expire-batches", help="withdraw entries of expired batches")
    expire.add_argument("--db")
    expire.set_defaults(func=cmd_expire_batches)
    house = sub.add_parser("housekeeping", help="run the central store's housekeeping once")
    house.add_argument("--db", help="database URL")
    house.add_argument("--days", type=int, help="pool return after N days (default: setting)")
    house.set_defaults(func=cmd_housekeeping)

    make_key = sub.add_parser("create-api-key", help="a service account's API key (shown once)")
    make_key.add_argument("--name", required=True, help="who uses it, e.g. the loan system")
    make_key.add_argument("--db", help="database URL")
    make_key.add_argument("--endpoint", default="loan_feed", choices=["loan_feed"])
    make_key.set_defaults(func=cmd_create_api_key)
    revoke_key = sub.add_parser("revoke-api-key", help="revoke a service account's API key")
    revoke_key.add_argument("--name", required=True)
    revoke_key.add_argument("--db", help="database URL")
    revoke_key.set_defaults(func=cmd_revoke_api_key)
    keys = sub.add_parser("api-keys", help="the API keys: name, prefix, made, last used, revoked")
    keys.add_argument("--db", help="database URL")
    keys.set_defaults(func=cmd_api_keys)
    loans = sub.add_parser("import-loans", help="loan events from a CSV or .xlsx file")
    loans.add_argument("file")
    loans.add_argument("--db", help="database URL")
    loans.set_defaults(func=cmd_import_loans)
    from app.server.exports import kinds  # the registry: a kind added there is a choice here

    report = sub.add_parser("export", help="a report as an .xlsx file (Chinese headers, 万元)")
    report.add_argument("kind", choices=kinds())
    report.add_argument("--period", help="2026-12 (a month) or 2026-Q4 (a quarter)")
    report.add_argument("--batch", help="the whitelist batch's id (quality)")
    report.add_argument("--outlet", help="the outlet's code (bulletin)")
    report.add_argument("--out", required=True, help="the .xlsx file to write")
    report.add_argument("--db", help="database URL")
    report.add_argument("--lang", default="zh", choices=["zh", "en"])
    report.add_argument("--as", dest="as_user", help="employee number (default: an admin)")
    report.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    if args.command is None:
        args = build_parser().parse_args(["run", *(argv or [])])
    args.func(args)


if __name__ == "__main__":
    main()

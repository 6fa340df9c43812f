"""`oncopanel serve` (the review application), `oncopanel users` and `oncopanel sites` (its registry)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from oncopanel.errors import InputError

DEMO_USERS = (  # (user name, display name, role, site): `oncopanel serve --demo`; the password is DEMO_PASSWORD
    ("reviewer", "Dr Demo Reviewer", "reviewer", None),
    ("signer", "Dr Demo Signer", "signer", None),
    ("admin", "Demo Lab Admin", "admin", None),
    ("anxian", "Dr Demo Anxian", "clinician", "Anxian County"),
    ("beiling", "Dr Demo Beiling", "clinician", "Beiling County"),
)
DEMO_PASSWORD = "demo-password-1"


def _db_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=os.environ.get("ONCOPANEL_WEB_DB", ""),
                   help="SQLAlchemy database URL (postgresql+psycopg://user@host/db); default: SQLite "
                   "oncopanel-web.sqlite in --state (env ONCOPANEL_WEB_DB)")  # fmt: skip
    p.add_argument("--state", type=Path, default=Path("web-state"),
                   help="directory of the default SQLite database (default: %(default)s)")


def _sessions(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from oncopanel.web.db import default_url, open_database

    if not args.db:
        args.state.mkdir(parents=True, exist_ok=True)
        os.chmod(args.state, 0o700)  # the database holds password hashes and review state
    return open_database(args.db or default_url(args.state))


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve", help="the review and sign-off web application over finished batches' results trees",
        description="Starts the review application (ASGI, uvicorn) over one or more results trees. Put it behind "
        "a TLS reverse proxy (README: 'Remote review and sign-off'); --insecure-http only for loopback.",
    )  # fmt: skip
    serve.add_argument("--results", type=Path, nargs="+", required=True, help="results directories of batches")
    _db_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (a reverse proxy in front)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument("--configfile", type=Path, nargs="+", default=[Path("config/config.yaml")],
                       help="workflow configuration: the centre, the identity manifest, the reference (default: "
                       "%(default)s)")  # fmt: skip
    serve.add_argument("--insecure-http", action="store_true",
                       help="session cookie without Secure (plain http on loopback: demo, development)")
    serve.add_argument("--allow-reviewer-signs", action="store_true",
                       help="let the reviewer of a sample also sign it (the default refuses)")
    serve.add_argument("--idle-minutes", type=int, default=30, help="session expiry without a request")
    serve.add_argument("--demo", action="store_true",
                       help="seed the demo accounts and sites (password printed) if the database has no user")
    serve.set_defaults(func=_serve)

    users = sub.add_parser("users", help="the review application's users (add, list, deactivate, password)")
    _db_options(users)
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (the password is asked for, or read from "
                               "ONCOPANEL_NEW_PASSWORD)")  # fmt: skip
    add.add_argument("username", help="login name")
    add.add_argument("--name", required=True, help="display name printed on signed reports")
    add.add_argument("--role", required=True, choices=("reviewer", "signer", "clinician", "admin"),
                     help="reviewer and signer: the centre; clinician: a county site, read-only; admin: users, sites")
    add.add_argument("--site", help="a county clinician's site code (oncopanel sites add first)")
    users_sub.add_parser("list", help="list users")
    off = users_sub.add_parser("deactivate", help="deactivate a user (their sessions end)")
    off.add_argument("username", help="login name")
    pw = users_sub.add_parser("password", help="set a user's password")
    pw.add_argument("username", help="login name")
    users.set_defaults(func=_users)

    sites = sub.add_parser("sites", help="the registry of county sites (the sample sheet's site codes)")
    _db_options(sites)
    sites_sub = sites.add_subparsers(dest="sites_command", required=True)
    sadd = sites_sub.add_parser("add", help="register a site")
    sadd.add_argument("code", help="the code the sample sheet's site column uses")
    sadd.add_argument("--name", required=True, help="the hospital's name, as reports print it")
    sites_sub.add_parser("list", help="list sites")
    export = sites_sub.add_parser("export", help="write the registry as the TSV the workflow's `sites:` key reads")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    check = sites_sub.add_parser("check", help="check a sample sheet's site column against the registry")
    check.add_argument("sheet", type=Path, help="sample sheet (TSV) to check")
    sites.set_defaults(func=_sites)


def _password(prompt: str = "Password: ") -> str:
    return os.environ.get("ONCOPANEL_NEW_PASSWORD") or getpass.getpass(prompt)


def _users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from oncopanel.web import security
    from oncopanel.web.app import create_user
    from oncopanel.web.db import User, WebSession, user_by_name

    with _sessions(args)() as db:
        if args.users_command == "add":
            try:
                create_user(db, args.username, args.name, _password(), args.role, args.site)
            except ValueError as exc:
                raise InputError(str(exc)) from exc
            db.commit()
            print(f"user {args.username} ({args.role}) added")
        elif args.users_command == "list":
            for u in db.scalars(select(User).order_by(User.username)):
                print(f"{u.username}\t{u.role}\t{u.site_code or ''}\t{'active' if u.active else 'inactive'}\t"
                      f"{u.display_name}")
        else:
            user = user_by_name(db, args.username)
            if user is None:
                raise InputError(f"no user {args.username}")
            if args.users_command == "deactivate":
                user.active = False
                for s in db.scalars(select(WebSession).where(WebSession.user_id == user.id)):
                    db.delete(s)
            else:
                try:
                    user.password_hash = security.hash_password(_password("New password: "))
                except ValueError as exc:
                    raise InputError(str(exc)) from exc
            db.commit()
            print(f"user {args.username}: {args.users_command} done")
    return 0


def sites_tsv(sites: list[tuple[str, str]]) -> str:
    """The registry as the workflow reads it (oncopanel.inputs.SiteRegistry): a header, then code and name."""
    rows = ["code\tname", *(f"{code}\t{' '.join(name.split())}" for code, name in sites)]
    return "\n".join(rows) + "\n"


def _sites(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from oncopanel.web.db import Site

    with _sessions(args)() as db:
        if args.sites_command == "add":
            if db.get(Site, args.code) is not None:
                raise InputError(f"site {args.code} exists")
            db.add(Site(code=args.code, name=args.name))
            db.commit()
            print(f"site {args.code} added")
        elif args.sites_command == "list":
            for s in db.scalars(select(Site).order_by(Site.code)):
                print(f"{s.code}\t{s.name}")
        elif args.sites_command == "export":
            text = sites_tsv([(s.code, s.name) for s in db.scalars(select(Site).order_by(Site.code))])
            if args.out:
                args.out.write_text(text, encoding="utf-8")
                print(f"wrote {args.out}", file=sys.stderr)
            else:
                sys.stdout.write(text)
        else:
            from oncopanel.inputs import SiteRegistry
            from oncopanel.samplesheet import read_sample_sheet

            codes = frozenset(s.code for s in db.scalars(select(Site)))
            if not codes:
                print("no site registry yet: nothing to check against")
                return 0
            registry = SiteRegistry(Path("the review database"), codes, str(args.sheet))
            bad = [p for s in read_sample_sheet(args.sheet).values() for p in registry.problems(s)]
            for problem in bad:  # the workflow's input check says the same line (oncopanel.inputs.SiteRegistry)
                print(problem.message, file=sys.stderr)
            if bad:
                return 1
            print(f"{args.sheet}: every sample's site is registered")
    return 0


def seed_demo(db) -> bool:  # type: ignore[no-untyped-def]
    """The demo accounts and the demo batch's two county sites, when the database has no user yet."""
    from oncopanel.web.app import count_users, create_user
    from oncopanel.web.db import Site

    if count_users(db):
        return False
    for code in ("Anxian County", "Beiling County"):
        if db.get(Site, code) is None:
            db.add(Site(code=code, name=f"{code} People's Hospital (demo)"))
    db.flush()
    for username, name, role, site in DEMO_USERS:
        create_user(db, username, name, DEMO_PASSWORD, role, site)
    db.commit()
    return True


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from oncopanel.paths import DATA
    from oncopanel.settings import load_config
    from oncopanel.web.app import Settings, create_app
    from oncopanel.web.security import SessionPolicy
    from oncopanel.web.trees import Tree

    config = load_config(args.configfile)
    trees: list[Tree] = []
    for path in args.results:
        if not path.is_dir():
            raise InputError(f"{path}: no such results directory")
        trees.append(Tree.of(path, {t.name for t in trees}))
    sessions = _sessions(args)
    if args.demo:
        with sessions() as db:
            if seed_demo(db):
                print(f"demo accounts: {', '.join(u[0] for u in DEMO_USERS)} (password {DEMO_PASSWORD})")
    fasta = Path(str(config.get("reference", {}).get("fasta", "")))
    fasta = fasta if fasta.is_absolute() or fasta.exists() else DATA / fasta
    settings = Settings(
        trees=trees, sessions=sessions,
        policy=SessionPolicy(idle_minutes=args.idle_minutes, secure_cookie=not args.insecure_http),
        allow_reviewer_signs=args.allow_reviewer_signs,
        identity_manifest=Path(config["identity"]) if config.get("identity") else None,
        centre=dict(config.get("centre", {})),
        reference=fasta if str(fasta).endswith(".gz") and Path(f"{fasta}.gzi").exists() else None,
    )  # fmt: skip
    app = create_app(settings)
    scheme = "http" if args.insecure_http else "https (through the TLS proxy)"
    print(f"oncopanel serve: {len(trees)} results tree(s) on {scheme} {args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=True, server_header=False)
    return 0

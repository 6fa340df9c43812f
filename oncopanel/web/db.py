"""The application's state in a SQL database through SQLAlchemy 2: SQLite by default (WAL), PostgreSQL by URL.

Migrations are a small versioned table of our own (``schema_migrations``: one row per applied step), not Alembic:
the schema is a handful of tables that must come up identically on SQLite and PostgreSQL from `oncopanel serve`
itself, with no migration scripts directory, env.py or autogenerate to ship and keep in step. Each step in
``MIGRATIONS`` is a function of a connection; a step is applied once, in order, inside one transaction with its
row, so a crash mid-migration leaves the database at the previous version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

ROLES = ("reviewer", "signer", "clinician", "admin")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Base(DeclarativeBase):
    pass


class Site(Base):
    """A county hospital in the centre's registry; ``code`` is what the sample sheet's ``site`` column names."""

    __tablename__ = "sites"
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # one of ROLES
    site_code: Mapped[str | None] = mapped_column(ForeignKey("sites.code"), nullable=True)  # clinicians only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class WebSession(Base):
    """A login: the cookie carries a random token, the table only its SHA-256 (a stolen table opens nothing)."""

    __tablename__ = "sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class LoginFailure(Base):
    """Failed logins, per user name and per client address, for throttling."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    client: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SampleRecord(Base):
    """One patient sample of a served results tree, and where its review stands.

    ``id`` is a random token: the only sample reference in URLs (never the identity, and not guessable).
    state: pending → reviewed → signed; signed → amending (an amendment opened, with its reason) → reviewed → signed.
    """

    __tablename__ = "samples"
    __table_args__ = (UniqueConstraint("tree", "sample_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tree: Mapped[str] = mapped_column(String(200))
    sample_id: Mapped[str] = mapped_column(String(120))
    batch: Mapped[str] = mapped_column(String(120))
    site: Mapped[str] = mapped_column(String(200))
    received_date: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(20), default="pending")
    base_version: Mapped[int] = mapped_column(Integer, default=0)  # the workflow's version under review
    review_round: Mapped[int] = mapped_column(Integer, default=0)  # 0, then one more per amendment
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    signed_version: Mapped[int] = mapped_column(Integer, default=0)
    amend_reason: Mapped[str] = mapped_column(Text, default="")


class FindingDecision(Base):
    """A reviewer's confirm/reject of one finding; every decision is kept (the latest per finding and round
    counts)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sample: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    review_round: Mapped[int] = mapped_column(Integer, default=0)
    finding_id: Mapped[str] = mapped_column(String(80))
    finding: Mapped[str] = mapped_column(String(300))  # its name as shown (gene, HGVS)
    decision: Mapped[str] = mapped_column(String(20))  # confirmed | rejected
    reason: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sample: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    review_round: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(5))  # en | zh
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Signature(Base):
    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sample: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    result_sha256: Mapped[str] = mapped_column(String(64))


class ReportVersion(Base):
    """A signed (or amended) version released through the application; ``id`` is the download's random token."""

    __tablename__ = "report_versions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sample: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # signed | amended
    result_sha256: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    amendment_reason: Mapped[str] = mapped_column(Text, default="")


# ---------------------------------------------------------------- migrations
def _v1(conn: Connection) -> None:
    Base.metadata.create_all(conn)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1,)


def schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        if not inspect(conn).has_table("schema_migrations"):
            return 0
        return conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).scalar_one()


def migrate(engine: Engine) -> int:
    """Apply the steps not yet applied; returns the schema version reached."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at "
                          "VARCHAR(40) NOT NULL)"))
    current = schema_version(engine)
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        with engine.begin() as conn:
            step(conn)
            conn.execute(text("INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :t)"),
                         {"v": number, "t": now().isoformat()})
    return len(MIGRATIONS)


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{(state_dir / 'oncopanel-web.sqlite').resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL (readers never wait for the writer), foreign keys and a busy
    timeout (concurrent reviewers queue for the write lock instead of failing)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def open_database(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


def user_by_name(db: Session, username: str) -> User | None:
    return db.scalars(select(User).where(User.username == username)).first()

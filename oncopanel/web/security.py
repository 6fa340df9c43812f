"""Passwords, sessions, CSRF and login throttling.

- Passwords: argon2id (argon2-cffi's PasswordHasher, memory-hard; its defaults follow RFC 9106's second
  recommended profile), re-hashed at login when the parameters change.
- Sessions: a random 32-byte token in an HttpOnly, SameSite=Strict cookie (Secure unless the centre serves plain
  http on loopback); the database keeps only its SHA-256. A login always creates a new token and deletes any session
  the browser came with (no fixation). A session ends after ``idle_minutes`` without a request or ``max_hours``
  after login.
- CSRF: one random token per session, in a hidden field of every form; a POST without the session's token is
  refused (compared in constant time).
- Throttling: after ``THROTTLE_FAILURES`` failed logins for one user name, or from one client, within
  ``THROTTLE_WINDOW``, further attempts are refused without checking the password until the window has passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from oncopanel.web.db import LoginFailure, User, WebSession, now

_HASHER = PasswordHasher()  # argon2id
# A dummy hash checked when the user does not exist, so a wrong user name costs the same time as a wrong password.
_DUMMY = _HASHER.hash("not a password")
THROTTLE_FAILURES = 5  # failed attempts per user name or client before refusing (OWASP: a handful, then lock)
THROTTLE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 12  # characters (NIST SP 800-63B: at least 8; longer since reviewers sign clinical reports)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def check_password(user: User | None, password: str) -> bool:
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY, password)
        return False
    try:
        _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return True


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    idle_minutes: int = 30  # a workstation left logged in at a county hospital
    max_hours: int = 12  # one working day
    secure_cookie: bool = True  # behind TLS; False only for plain http on loopback (demo, tests)
    cookie_name: str = "oncopanel_session"


def throttled(db: Session, username: str, client: str) -> bool:
    since = now() - THROTTLE_WINDOW
    by_user = db.scalar(select(func.count()).where(LoginFailure.username == username, LoginFailure.at >= since))
    by_client = db.scalar(select(func.count()).where(LoginFailure.client == client, LoginFailure.at >= since))
    return (by_user or 0) >= THROTTLE_FAILURES or (by_client or 0) >= THROTTLE_FAILURES * 4


def record_failure(db: Session, username: str, client: str) -> None:
    db.add(LoginFailure(username=username[:80], client=client[:80]))


def start_session(db: Session, user: User, old_token: str | None) -> tuple[str, WebSession]:
    """A fresh session for the user; the one the browser came with (if any) is deleted (fixation)."""
    if old_token:
        db.execute(delete(WebSession).where(WebSession.token_sha256 == token_sha256(old_token)))
    db.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    token = secrets.token_urlsafe(32)
    session = WebSession(token_sha256=token_sha256(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32))
    db.add(session)
    return token, session


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=now().tzinfo)  # SQLite hands back naive datetimes


def load_session(db: Session, token: str | None, policy: SessionPolicy) -> tuple[WebSession, User] | None:
    """The live session and its user, or None (unknown, expired or the user deactivated)."""
    if not token:
        return None
    session = db.get(WebSession, token_sha256(token))
    if session is None:
        return None
    t = now()
    expired = (t - _aware(session.last_seen) > timedelta(minutes=policy.idle_minutes)
               or t - _aware(session.created_at) > timedelta(hours=policy.max_hours))
    user = db.get(User, session.user_id)
    if expired or user is None or not user.active:
        db.delete(session)
        return None
    if t - _aware(session.last_seen) > timedelta(seconds=30):  # no write per request under load
        session.last_seen = t
    return session, user


def end_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(WebSession).where(WebSession.token_sha256 == token_sha256(token)))


def csrf_ok(session: WebSession, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf_token, submitted or "")

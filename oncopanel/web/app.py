"""The ASGI application (Starlette, Jinja2 server-rendered pages): routes, access rules, audit of every action.

Access is denied by default: every route is declared with the roles that may use it (``ROUTES``: the security
tests walk this table), and every page that names a sample or report checks the user's site as well; another
site's id, or one that does not exist, gets the same "not found" and is audited. Sample and report ids in URLs are
random tokens; patient identity never appears in a URL (the patient search is a POST), the audit log or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import statistics
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from oncopanel import audit
from oncopanel.errors import OncopanelError
from oncopanel.web import security
from oncopanel.web.db import (
    ROLES,
    Comment,
    FindingDecision,
    ReportVersion,
    SampleRecord,
    Signature,
    Site,
    User,
    now,
    user_by_name,
)
from oncopanel.web.review import Decision, Note, ReviewError, Signing, findings_of, release_signed
from oncopanel.web.trees import Tree, workflow_version

HERE = Path(__file__).parent
CENTRE = ("reviewer", "signer")
SECURITY_HEADERS = {
    # igv.js runs from our own origin; it styles its widgets inline, and draws on canvases from blob: images
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass
class Settings:
    trees: list[Tree]
    sessions: sessionmaker[Session]
    policy: security.SessionPolicy = field(default_factory=security.SessionPolicy)
    allow_reviewer_signs: bool = False  # the centre's configuration may let a sample's reviewer also sign it
    identity_manifest: Path | None = None
    centre: dict = field(default_factory=dict)
    reference: Path | None = None  # the bgzipped, indexed FASTA the reads were aligned to (for the viewer)
    hsts: bool = True


class Denied(Exception):
    """Refused: ``status`` 401 (no session), 403 (wrong role), 404 (not found or another site's).

    ``obj`` is what was asked for; an id typed into a URL is recorded by its hash only (whatever someone typed
    there, e.g. a patient's name, must not reach the audit log)."""

    def __init__(self, status: int, event: str, obj: str = "", typed: bool = False):
        super().__init__(event)
        self.status, self.event = status, event
        self.obj = f"sha256:{hashlib.sha256(obj.encode()).hexdigest()[:16]}" if typed else obj


@dataclass
class Ctx:
    """One request's context: its database session, the logged-in user and their web session."""

    request: Request
    db: Session
    user: User | None = None
    web_session: Any = None

    @property
    def settings(self) -> Settings:
        return self.request.app.state.settings

    def tree(self, name: str) -> Tree:
        for t in self.settings.trees:
            if t.name == name:
                return t
        raise Denied(404, "denied_unknown_batch", name, typed=True)


# ---------------------------------------------------------------- audit
def audit_event(settings: Settings, event: str, user: User | None, obj: str = "", tree: Tree | None = None,
                client: str = "", **details: Any) -> None:
    """One entry in the batch's audit chain (oncopanel.audit.append, the workflow's locked append): in ``tree``'s
    log for an action on a batch, in every served batch's log for one that concerns them all (logins, admin)."""
    entry = {"web_user": user.username if user else "", "role": user.role if user else "", "object": obj,
             "client": client, **details}  # fmt: skip
    for t in [tree] if tree else settings.trees:
        audit.append(t.audit_log, f"web_{event}", entry)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


# ---------------------------------------------------------------- route declaration
Handler = Callable[[Ctx], Any]
ROUTES: list[tuple[str, str, tuple[str, ...]]] = []  # (method, path, roles): every protected route, for the tests


def page(path: str, roles: Iterable[str], method: str = "GET") -> Callable[[Handler], Route]:
    roles = tuple(roles)
    ROUTES.append((method, path, roles))

    def wrap(handler: Handler) -> Route:
        def endpoint(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            with settings.sessions() as db:
                ctx = Ctx(request, db)
                try:
                    found = security.load_session(db, request.cookies.get(settings.policy.cookie_name),
                                                  settings.policy)
                    if found is None:
                        db.commit()
                        raise Denied(401, "denied_no_session", path)
                    ctx.web_session, ctx.user = found
                    if ctx.user.role not in roles:
                        raise Denied(403, "denied_role", path)
                    if method == "POST":
                        form = _form(request)
                        if not security.csrf_ok(ctx.web_session, form.get("csrf")):
                            raise Denied(403, "denied_csrf", path)
                    response = handler(ctx)
                    db.commit()
                    return response
                except Denied as denied:
                    db.rollback()
                    return refuse(ctx, denied, path)
                except OncopanelError as exc:  # a review rule, or the package refusing (e.g. an identity record
                    # that does not match the result): said on the page, nothing released
                    db.rollback()
                    return render(ctx, "error.html", {"title": "Not possible", "message": str(exc)}, 409)

        return Route(path, endpoint, methods=[method])

    return wrap


def _form(request: Request) -> FormData:
    return request.state.form


class FormMiddleware:
    """Parses a POST's form once, before the (synchronous) handler runs in the thread pool."""

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            request = Request(scope, receive)
            form = await request.form(max_files=0, max_fields=2000)  # a bulk confirmation ticks every sample
            scope.setdefault("state", {})["form"] = form
            await self.app(scope, _replay(), send)
            return
        await self.app(scope, receive, send)


def _replay() -> Callable:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


def refuse(ctx: Ctx, denied: Denied, route: str) -> Response:
    """The refusal page, and its audit entry (the route's template, never the URL as typed)."""
    settings = ctx.settings
    audit_event(settings, denied.event, ctx.user, denied.obj, client=_client(ctx.request), route=route,
                method=ctx.request.method)  # fmt: skip
    if denied.status == 401:
        if ctx.request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return render(ctx, "error.html", {"title": "Please log in", "message": "Your session has ended."}, 401)
    if denied.status == 403:
        return render(ctx, "error.html", {"title": "Not allowed", "message": "Your role does not allow this."}, 403)
    return render(ctx, "error.html", {"title": "Not found", "message": "No such page or report."}, 404)


templates = Jinja2Templates(directory=str(HERE / "templates"))


def render(ctx: Ctx, name: str, context: dict, status: int = 200) -> Response:
    csrf = ctx.web_session.csrf_token if ctx.web_session is not None else ""
    return templates.TemplateResponse(ctx.request, name, {"user": ctx.user, "csrf": csrf, **context},
                                      status_code=status)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- sync with the results trees
def sync(settings: Settings, db: Session) -> None:
    """A sample record for every released patient sample of every tree; a new workflow version of a sample not yet
    signed replaces the one under review (and its review starts again)."""
    known = {(s.tree, s.sample_id): s for s in db.scalars(select(SampleRecord))}
    for tree in settings.trees:
        for sample_id in tree.patient_samples():
            record = tree.release(sample_id)
            version = workflow_version(record)
            if not version:
                continue
            existing = known.get((tree.name, sample_id))
            if existing is not None:
                if existing.state in ("pending", "reviewed") and existing.base_version != version:
                    existing.base_version, existing.state = version, "pending"
                continue
            result = tree.version_result(sample_id, version)
            db.add(SampleRecord(
                id=secrets.token_hex(12), tree=tree.name, sample_id=sample_id, batch=result.sample.batch,
                site=result.sample.site, received_date=result.sample.received_date, base_version=version,
            ))  # fmt: skip
    db.commit()


# ---------------------------------------------------------------- helpers
def sample_for(ctx: Ctx, token: str) -> tuple[SampleRecord, Tree]:
    record = ctx.db.get(SampleRecord, token)
    if record is None:
        raise Denied(404, "denied_unknown_sample", token, typed=True)
    return record, ctx.tree(record.tree)


def latest_decisions(db: Session, sample: SampleRecord) -> dict[str, FindingDecision]:
    rows = db.scalars(select(FindingDecision).where(FindingDecision.sample == sample.id).order_by(FindingDecision.id))
    return {d.finding_id: d for d in rows}


def names(db: Session) -> dict[int, str]:
    return {u.id: u.display_name for u in db.scalars(select(User))}


def is_held(tree: Tree, sample: SampleRecord) -> tuple[bool, list[str]]:
    result = tree.version_result(sample.sample_id, sample.base_version)
    verdicts = tree.controls(sample.batch)
    reasons = list(result.failure.reasons) if result.held and result.failure else []
    if verdicts.held(sample.sample_id):
        reasons += list(verdicts.reasons) or ["batch held by its run controls or identity check"]
    return bool(reasons), reasons


def turnaround(sample: SampleRecord) -> int | None:
    from oncopanel.web.review import turnaround_days

    return turnaround_days(sample.received_date, sample.signed_at) if sample.signed_at else None


def _summary(days: list[int]) -> dict:
    return {"n": len(days), "median": statistics.median(days) if days else None, "max": max(days) if days else None}


# ---------------------------------------------------------------- login
LOGIN_CSRF_COOKIE = "oncopanel_login"


def login_form(request: Request, error: str = "", status: int = 200) -> Response:
    """The login form with its CSRF token: before any session, a double-submit token (the same random value in a
    SameSite=Strict cookie and in the form), so another site cannot log a browser into someone else's account."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(request, "login.html", {"user": None, "csrf": token, "error": error},
                                          status_code=status)  # fmt: skip
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=request.app.state.settings.policy.secure_cookie)  # fmt: skip
    return response


async def login_page(request: Request) -> Response:
    return login_form(request)


def login(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form = _form(request)
    username = str(form.get("username", ""))[:80]
    password = str(form.get("password", ""))
    client = _client(request)
    cookie, submitted = request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf", ""))
    if not cookie or not hmac.compare_digest(cookie, submitted):
        audit_event(settings, "denied_csrf", None, "/login", client=client, route="/login", method="POST")
        return login_form(request, "The form had expired: please log in again.", 403)
    with settings.sessions() as db:
        if security.throttled(db, username, client):
            audit_event(settings, "login_throttled", None, username, client=client)
            return login_form(request, "Too many failed attempts: wait 15 minutes.", 429)
        user = user_by_name(db, username)
        if not security.check_password(user, password):
            security.record_failure(db, username, client)
            db.commit()
            audit_event(settings, "login_failed", None, username, client=client)
            return login_form(request, "Wrong user name or password.", 401)
        assert user is not None
        token, _ = security.start_session(db, user, request.cookies.get(settings.policy.cookie_name))
        db.commit()
        audit_event(settings, "login", user, client=client)
        target = {"clinician": "/reports", "admin": "/admin"}.get(user.role, "/batches")
        response = redirect(target)
        response.set_cookie(settings.policy.cookie_name, token, httponly=True, samesite="strict",
                            secure=settings.policy.secure_cookie, path="/")  # fmt: skip
        return response


@page("/logout", ROLES, "POST")
def logout(ctx: Ctx) -> Response:
    security.end_session(ctx.db, ctx.request.cookies.get(ctx.settings.policy.cookie_name))
    audit_event(ctx.settings, "logout", ctx.user, client=_client(ctx.request))
    response = redirect("/login")
    response.delete_cookie(ctx.settings.policy.cookie_name, path="/")
    return response


async def home(request: Request) -> Response:
    return redirect("/batches")


# ---------------------------------------------------------------- the centre: batches, queue, sample
@page("/batches", CENTRE)
def batches(ctx: Ctx) -> Response:
    rows = []
    for tree in ctx.settings.trees:
        samples = list(ctx.db.scalars(select(SampleRecord).where(SampleRecord.tree == tree.name)))
        states: dict[str, int] = {}
        for s in samples:
            states[s.state] = states.get(s.state, 0) + 1
        days = [d for s in samples if (d := turnaround(s)) is not None]
        rows.append({"tree": tree, "n": len(samples), "states": states, "turnaround": _summary(days)})
    return render(ctx, "batches.html", {"rows": rows})


@page("/batches/refresh", CENTRE, "POST")
def refresh(ctx: Ctx) -> Response:
    sync(ctx.settings, ctx.db)
    return redirect("/batches")


@page("/batches/{tree}", CENTRE)
def queue(ctx: Ctx) -> Response:
    tree = ctx.tree(ctx.request.path_params["tree"])
    samples = list(ctx.db.scalars(select(SampleRecord).where(SampleRecord.tree == tree.name)
                                  .order_by(SampleRecord.sample_id)))  # fmt: skip
    sites = {s.code for s in ctx.db.scalars(select(Site))}
    rows, batches_seen = [], {}
    for s in samples:
        result = tree.version_result(s.sample_id, s.base_version)
        held, _ = is_held(tree, s)
        findings = findings_of(result)
        batches_seen.setdefault(s.batch, tree.controls(s.batch))
        rows.append({"s": s, "held": held, "failed": result.failed, "n_findings": len(findings),
                     "negative": all(f.negative for f in findings), "turnaround": turnaround(s),
                     "site_known": not sites or s.site in sites})  # fmt: skip
    audit_event(ctx.settings, "view_queue", ctx.user, tree.name, tree, client=_client(ctx.request))
    return render(ctx, "queue.html", {"tree": tree, "rows": rows, "controls": batches_seen})


@page("/batches/{tree}/confirm-negatives", ("reviewer",), "POST")
def confirm_negatives(ctx: Ctx) -> Response:
    """Bulk: every pending sample whose findings are all negative (none to act on) is confirmed and marked
    reviewed, one decision per finding, each audited."""
    tree = ctx.tree(ctx.request.path_params["tree"])
    chosen = set(_form(ctx.request).getlist("sample"))
    done = []
    for s in ctx.db.scalars(select(SampleRecord).where(SampleRecord.tree == tree.name,
                                                       SampleRecord.state == "pending")):  # fmt: skip
        if s.id not in chosen:
            continue
        result = tree.version_result(s.sample_id, s.base_version)
        findings = findings_of(result)
        if result.failed or not all(f.negative for f in findings):
            continue
        for f in findings:
            ctx.db.add(FindingDecision(sample=s.id, review_round=s.review_round, finding_id=f.id, finding=f.name,
                                       decision="confirmed", reason="negative: bulk confirmation",
                                       user_id=ctx.user.id))  # fmt: skip
        s.state, s.reviewed_by, s.reviewed_at = "reviewed", ctx.user.id, now()
        done.append(s.sample_id)
    audit_event(ctx.settings, "bulk_confirm_negatives", ctx.user, tree.name, tree, client=_client(ctx.request),
                samples=done)  # fmt: skip
    return redirect(f"/batches/{tree.name}")


@page("/samples/{sid}", CENTRE)
def sample_page(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    result = tree.version_result(s.sample_id, s.base_version)
    held, hold_reasons = is_held(tree, s)
    decisions = latest_decisions(ctx.db, s)
    comments = list(ctx.db.scalars(select(Comment).where(Comment.sample == s.id).order_by(Comment.id)))
    versions = list(ctx.db.scalars(select(ReportVersion).where(ReportVersion.sample == s.id)
                                   .order_by(ReportVersion.version)))  # fmt: skip
    variants = [v for v in result.somatic if v.variant] + [g for g in result.germline.findings if g.variant]
    audit_event(ctx.settings, "view_sample", ctx.user, s.sample_id, tree, client=_client(ctx.request))
    return render(ctx, "sample.html", {
        "s": s, "tree": tree, "r": result, "held": held, "hold_reasons": hold_reasons,
        "controls": tree.controls(s.batch), "findings": findings_of(result), "decisions": decisions,
        "comments": comments, "versions": versions, "names": names(ctx.db), "variants": variants,
        "has_bam": tree.bam(s.sample_id) is not None and ctx.settings.reference is not None,
        "igv": (HERE / "static" / "vendor" / "igv.min.js").exists(),
        "can_sign": can_sign(ctx, s, held)[0], "sign_block": can_sign(ctx, s, held)[1],
        "turnaround": turnaround(s),
    })  # fmt: skip


def editable(s: SampleRecord) -> None:
    if s.state not in ("pending", "amending"):
        raise ReviewError(f"sample {s.sample_id} is {s.state}: decisions are closed (open an amendment to change a "
                          "signed report)")


@page("/samples/{sid}/decide", ("reviewer",), "POST")
def decide_finding(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    editable(s)
    form = _form(ctx.request)
    finding_id, decision = str(form.get("finding", "")), str(form.get("decision", ""))
    reason = str(form.get("reason", "")).strip()
    found = {f.id: f for f in findings_of(tree.version_result(s.sample_id, s.base_version))}
    if finding_id not in found or decision not in ("confirmed", "rejected"):
        raise Denied(404, "denied_unknown_finding", f"{s.sample_id}/{finding_id}", typed=True)
    if decision == "rejected" and not reason:
        raise ReviewError("a rejection needs its reason")
    ctx.db.add(FindingDecision(sample=s.id, review_round=s.review_round, finding_id=finding_id,
                               finding=found[finding_id].name, decision=decision, reason=reason, user_id=ctx.user.id))
    audit_event(ctx.settings, f"finding_{decision}", ctx.user, f"{s.sample_id}/{finding_id}", tree,
                client=_client(ctx.request), reason=reason)  # fmt: skip
    return redirect(f"/samples/{s.id}")


@page("/samples/{sid}/comment", CENTRE, "POST")
def comment(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    editable(s)
    form = _form(ctx.request)
    language, text = str(form.get("language", "")), str(form.get("text", "")).strip()
    if language not in ("en", "zh") or not text:
        raise ReviewError("a comment needs its language (en or zh) and its text")
    ctx.db.add(Comment(sample=s.id, review_round=s.review_round, language=language, text=text[:4000],
                       user_id=ctx.user.id))
    audit_event(ctx.settings, "comment", ctx.user, s.sample_id, tree, client=_client(ctx.request), language=language)
    return redirect(f"/samples/{s.id}")


@page("/samples/{sid}/reviewed", ("reviewer",), "POST")
def mark_reviewed(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    editable(s)
    result = tree.version_result(s.sample_id, s.base_version)
    decisions = latest_decisions(ctx.db, s)
    undecided = [f.name for f in findings_of(result) if f.id not in decisions]
    if undecided:
        raise ReviewError("every finding needs a decision first: " + "; ".join(undecided))
    s.state, s.reviewed_by, s.reviewed_at = "reviewed", ctx.user.id, now()
    audit_event(ctx.settings, "reviewed", ctx.user, s.sample_id, tree, client=_client(ctx.request))
    return redirect(f"/samples/{s.id}")


def can_sign(ctx: Ctx, s: SampleRecord, held: bool) -> tuple[bool, str]:
    if ctx.user is None or ctx.user.role != "signer":
        return False, "only a signing physician signs"
    if held:
        return False, "the batch or sample is held (run controls or identity): it cannot be signed"
    if s.state != "reviewed":
        return False, f"the sample is {s.state}: it is signed once reviewed"
    if s.reviewed_by == ctx.user.id and not ctx.settings.allow_reviewer_signs:
        return False, "the sample's reviewer may not also sign it (the centre's configuration)"
    return True, ""


def renderer(settings: Settings, sample_id: str, language: str) -> Callable[[Path, Path], None]:
    from oncopanel.deliver import render_report
    from oncopanel.report import load_identity_manifest

    manifest = settings.identity_manifest
    identity = load_identity_manifest(manifest).get(sample_id) if manifest else None
    return partial(render_report, language=language or settings.centre.get("language", "en"),
                   centre=settings.centre, identity=identity)  # fmt: skip


@page("/samples/{sid}/sign", ("signer",), "POST")
def sign(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    held, _ = is_held(tree, s)
    allowed, why = can_sign(ctx, s, held)
    if not allowed:
        audit_event(ctx.settings, "denied_sign", ctx.user, s.sample_id, tree, client=_client(ctx.request), why=why)
        raise ReviewError(why)
    if not security.check_password(ctx.user, str(_form(ctx.request).get("password", ""))):
        security.record_failure(ctx.db, ctx.user.username, _client(ctx.request))
        ctx.db.commit()  # the failure counts toward the login throttle
        audit_event(ctx.settings, "sign_password_failed", ctx.user, s.sample_id, tree, client=_client(ctx.request))
        raise ReviewError("the password was not right: not signed")
    # claim the sample (reviewed → signing) in one statement: two signers at once never release two versions
    claimed = ctx.db.execute(update(SampleRecord).where(SampleRecord.id == s.id, SampleRecord.state == "reviewed")
                             .values(state="signing")).rowcount  # fmt: skip
    ctx.db.commit()
    if claimed != 1:
        raise ReviewError("the sample is being signed, or was signed meanwhile")
    try:
        version, sha, signed_at = _release(ctx, s, tree)
    except BaseException:
        ctx.db.rollback()
        ctx.db.execute(update(SampleRecord).where(SampleRecord.id == s.id).values(state="reviewed"))
        ctx.db.commit()
        raise
    for old in ctx.db.scalars(select(ReportVersion).where(ReportVersion.sample == s.id)):
        old.superseded = True
    ctx.db.add(ReportVersion(id=secrets.token_hex(12), sample=s.id, version=version,
                             kind="amended" if s.amend_reason else "signed", result_sha256=sha,
                             amendment_reason=s.amend_reason))  # fmt: skip
    ctx.db.add(Signature(sample=s.id, version=version, user_id=ctx.user.id, result_sha256=sha))
    s.state, s.signed_by, s.signed_at, s.signed_version, s.amend_reason = "signed", ctx.user.id, signed_at, version, ""
    audit_event(ctx.settings, "signed", ctx.user, s.sample_id, tree, client=_client(ctx.request), version=version,
                result_sha256=sha, turnaround_days=turnaround(s))  # fmt: skip
    return redirect(f"/samples/{s.id}")


def _release(ctx: Ctx, s: SampleRecord, tree: Tree) -> tuple[int, str, Any]:
    """The signed version written through the release record (oncopanel.web.review.release_signed)."""
    base = tree.version_result(s.sample_id, s.base_version)
    people = names(ctx.db)
    decisions = [Decision(d.finding_id, d.finding, d.decision, d.reason, people.get(d.user_id, "?"),
                          _iso(d.at)) for d in latest_decisions(ctx.db, s).values()]  # fmt: skip
    notes = [Note(c.language, c.text, people.get(c.user_id, "?"), _iso(c.at))
             for c in ctx.db.scalars(select(Comment).where(Comment.sample == s.id).order_by(Comment.id))]
    signed_at = now()
    signing = Signing(reviewer=people.get(s.reviewed_by or 0, "?"), reviewed_at=s.reviewed_at or signed_at,
                      signer=ctx.user.display_name, signed_at=signed_at, decisions=decisions, notes=notes,
                      based_on_version=s.base_version, amend_reason=s.amend_reason)  # fmt: skip
    version, sha = release_signed(
        tree.release(s.sample_id), base, signing, renderer(ctx.settings, s.sample_id, base.sample.language),
        tree.audit_log, bam=tree.bam(s.sample_id), cnv_table=tree.cnv_table(s.sample_id), actor=ctx.user.username,
    )  # fmt: skip
    return version, sha, signed_at


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


@page("/samples/{sid}/amend", CENTRE, "POST")
def amend(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    reason = str(_form(ctx.request).get("reason", "")).strip()
    if s.state != "signed":
        raise ReviewError("only a signed report is amended; this one is still under review")
    if not reason:
        raise ReviewError("an amendment needs its reason (printed on the amended report)")
    s.state, s.amend_reason, s.review_round = "amending", reason[:1000], s.review_round + 1
    s.reviewed_by = s.reviewed_at = None
    audit_event(ctx.settings, "amendment_opened", ctx.user, s.sample_id, tree, client=_client(ctx.request),
                reason=reason)  # fmt: skip
    return redirect(f"/samples/{s.id}")


@page("/samples/{sid}/draft.pdf", CENTRE)
def draft_pdf(ctx: Ctx) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    audit_event(ctx.settings, "download_draft", ctx.user, s.sample_id, tree, client=_client(ctx.request),
                version=s.base_version)  # fmt: skip
    return FileResponse(tree.version_pdf(s.sample_id, s.base_version), media_type="application/pdf",
                        filename=f"{s.sample_id}-v{s.base_version}-draft.pdf")  # fmt: skip


@page("/samples/{sid}/reads.bam", CENTRE)
def reads(ctx: Ctx) -> Response:
    return _bam_file(ctx, "")


@page("/samples/{sid}/reads.bam.bai", CENTRE)
def reads_index(ctx: Ctx) -> Response:
    return _bam_file(ctx, ".bai")


def _bam_file(ctx: Ctx, suffix: str) -> Response:
    s, tree = sample_for(ctx, ctx.request.path_params["sid"])
    bam = tree.bam(s.sample_id)
    if bam is None:
        raise Denied(404, "denied_no_reads", s.sample_id)
    if "range" not in ctx.request.headers:  # a whole file fetched; the viewer's slices (Range) are audited once,
        audit_event(ctx.settings, "download_reads", ctx.user, s.sample_id + suffix, tree,  # with the page view
                    client=_client(ctx.request))  # fmt: skip
    return FileResponse(f"{bam}{suffix}", media_type="application/octet-stream")  # Range requests: the slice only


@page("/reference/{name}", CENTRE)
def reference(ctx: Ctx) -> Response:
    ref = ctx.settings.reference
    suffix = {"genome.fa.gz": "", "genome.fa.gz.fai": ".fai", "genome.fa.gz.gzi": ".gzi"}.get(
        ctx.request.path_params["name"])
    if ref is None or suffix is None or not Path(f"{ref}{suffix}").exists():
        raise Denied(404, "denied_no_reference", ctx.request.path_params["name"], typed=True)
    return FileResponse(f"{ref}{suffix}", media_type="application/octet-stream")


# ---------------------------------------------------------------- turnaround
@page("/turnaround", (*CENTRE, "admin"))
def turnaround_page(ctx: Ctx) -> Response:
    signed = list(ctx.db.scalars(select(SampleRecord).where(SampleRecord.signed_at.is_not(None))
                                 .order_by(SampleRecord.tree, SampleRecord.sample_id)))  # fmt: skip
    by_site: dict[str, list[int]] = {}
    by_batch: dict[str, list[int]] = {}
    rows = []
    for s in signed:
        days = turnaround(s)
        rows.append({"s": s, "days": days})
        if days is not None:
            by_site.setdefault(s.site, []).append(days)
            by_batch.setdefault(s.batch, []).append(days)
    return render(ctx, "turnaround.html", {
        "rows": rows, "by_site": {k: _summary(v) for k, v in sorted(by_site.items())},
        "by_batch": {k: _summary(v) for k, v in sorted(by_batch.items())},
    })  # fmt: skip


# ---------------------------------------------------------------- county clinicians
def clinician_reports(ctx: Ctx) -> list[tuple[ReportVersion, SampleRecord]]:
    q = (select(ReportVersion, SampleRecord).join(SampleRecord, ReportVersion.sample == SampleRecord.id)
         .where(ReportVersion.superseded.is_(False)).order_by(ReportVersion.released_at.desc()))  # fmt: skip
    if ctx.user.role == "clinician":
        q = q.where(SampleRecord.site == (ctx.user.site_code or "\0"))
    return [(rv, s) for rv, s in ctx.db.execute(q)]


@page("/reports", ("clinician", *CENTRE))
def reports(ctx: Ctx) -> Response:
    recent = now() - timedelta(days=7)
    rows = [{"rv": rv, "s": s, "new": _aware(rv.released_at) >= recent, "turnaround": turnaround(s)}
            for rv, s in clinician_reports(ctx)]
    audit_event(ctx.settings, "view_reports", ctx.user, ctx.user.site_code or "", client=_client(ctx.request))
    return render(ctx, "reports.html", {"rows": rows, "matches": None})


def _aware(value: Any) -> Any:
    return value if value.tzinfo else value.replace(tzinfo=now().tzinfo)


@page("/reports/search", ("clinician", *CENTRE), "POST")
def patient_search(ctx: Ctx) -> Response:
    """By patient (name, resident id or record number): a POST, so the identity never enters a URL or a log; the
    audit entry records that a search was made and how many reports it found, not what was searched for."""
    from oncopanel.report import load_identity_manifest

    query = str(_form(ctx.request).get("query", "")).strip().casefold()
    manifest = ctx.settings.identity_manifest
    identities = load_identity_manifest(manifest) if manifest and query else {}
    hits = {sid for sid, rec in identities.items()
            if query in {str(rec.get(k, "")).casefold() for k in ("name", "resident_id", "record_number")}
            or query in str(rec.get("name", "")).casefold()}  # fmt: skip
    rows = [{"rv": rv, "s": s, "new": False, "turnaround": turnaround(s)}
            for rv, s in clinician_reports(ctx) if s.sample_id in hits]
    audit_event(ctx.settings, "patient_search", ctx.user, ctx.user.site_code or "", client=_client(ctx.request),
                found=len(rows))  # fmt: skip
    return render(ctx, "reports.html", {"rows": rows, "matches": len(rows)})


@page("/reports/{rid}/report.pdf", ("clinician", *CENTRE))
def report_pdf(ctx: Ctx) -> Response:
    rid = ctx.request.path_params["rid"]
    rv = ctx.db.get(ReportVersion, rid)
    s = ctx.db.get(SampleRecord, rv.sample) if rv is not None else None
    if rv is None or s is None or (ctx.user.role == "clinician" and s.site != ctx.user.site_code):
        raise Denied(404, "denied_report", rid, typed=True)  # another site's report looks like no report at all
    tree = ctx.tree(s.tree)
    audit_event(ctx.settings, "download_report", ctx.user, s.sample_id, tree, client=_client(ctx.request),
                version=rv.version, result_sha256=rv.result_sha256)  # fmt: skip
    return FileResponse(tree.version_pdf(s.sample_id, rv.version), media_type="application/pdf",
                        filename=f"{s.sample_id}-v{rv.version}.pdf")  # fmt: skip


# ---------------------------------------------------------------- administration
@page("/admin", ("admin",))
def admin(ctx: Ctx) -> Response:
    users = list(ctx.db.scalars(select(User).order_by(User.username)))
    sites = list(ctx.db.scalars(select(Site).order_by(Site.code)))
    codes = {s.code for s in sites}
    unknown = sorted({s.site for s in ctx.db.scalars(select(SampleRecord))} - codes) if codes else []
    return render(ctx, "admin.html", {"users": users, "sites": sites, "roles": ROLES, "unknown_sites": unknown})


@page("/admin/users", ("admin",), "POST")
def create_user_route(ctx: Ctx) -> Response:
    form = _form(ctx.request)
    try:
        user = create_user(ctx.db, str(form.get("username", "")), str(form.get("display_name", "")),
                           str(form.get("password", "")), str(form.get("role", "")),
                           str(form.get("site", "")) or None)  # fmt: skip
    except ValueError as exc:
        raise ReviewError(str(exc)) from exc
    audit_event(ctx.settings, "user_created", ctx.user, user.username, client=_client(ctx.request), role=user.role,
                site=user.site_code or "")  # fmt: skip
    return redirect("/admin")


@page("/admin/users/{uid}/deactivate", ("admin",), "POST")
def deactivate(ctx: Ctx) -> Response:
    user = ctx.db.get(User, int(ctx.request.path_params["uid"]) if ctx.request.path_params["uid"].isdigit() else 0)
    if user is None:
        raise Denied(404, "denied_unknown_user", ctx.request.path_params["uid"], typed=True)
    user.active = False
    audit_event(ctx.settings, "user_deactivated", ctx.user, user.username, client=_client(ctx.request))
    return redirect("/admin")


@page("/admin/sites", ("admin",), "POST")
def create_site_route(ctx: Ctx) -> Response:
    form = _form(ctx.request)
    code, name = str(form.get("code", "")).strip(), str(form.get("name", "")).strip()
    if not code or not name or ctx.db.get(Site, code) is not None:
        raise ReviewError("a site needs a new code and a name")
    ctx.db.add(Site(code=code, name=name))
    audit_event(ctx.settings, "site_created", ctx.user, code, client=_client(ctx.request))
    return redirect("/admin")


def create_user(db: Session, username: str, display_name: str, password: str, role: str,
                site: str | None) -> User:
    """A new user; a clinician belongs to a registered site, the centre's roles to none."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or not display_name:
        raise ValueError("a user needs a user name and a display name")
    if user_by_name(db, username) is not None:
        raise ValueError(f"user {username} exists")
    if role == "clinician" and (not site or db.get(Site, site) is None):
        raise ValueError("a county clinician belongs to a registered site (add the site first)")
    user = User(username=username, display_name=display_name, password_hash=security.hash_password(password),
                role=role, site_code=site if role == "clinician" else None)  # fmt: skip
    db.add(user)
    db.flush()
    return user


def count_users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


# ---------------------------------------------------------------- the application
class Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if request.app.state.settings.hsts and request.app.state.settings.policy.secure_cookie:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    title = {404: "Not found", 405: "Not allowed"}.get(status, "Error")
    return templates.TemplateResponse(request, "error.html", {"user": None, "csrf": "", "title": title,
                                      "message": "No such page." if status == 404 else "The request failed."},
                                      status_code=status)  # fmt: skip


def create_app(settings: Settings) -> Starlette:
    routes = [
        Route("/", home), Route("/login", login_page, methods=["GET"]), Route("/login", login, methods=["POST"]),
        logout, batches, refresh, queue, confirm_negatives, sample_page, decide_finding, comment, mark_reviewed,
        sign, amend, draft_pdf, reads, reads_index, reference, turnaround_page, reports, patient_search, report_pdf,
        admin, create_user_route, deactivate, create_site_route,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]  # fmt: skip
    app = Starlette(
        routes=routes, middleware=[Middleware(Headers), Middleware(FormMiddleware)],
        exception_handlers={404: not_found, 405: not_found, 500: not_found},
    )  # fmt: skip
    app.state.settings = settings
    with settings.sessions() as db:
        sync(settings, db)
    return app

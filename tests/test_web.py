"""The review and sign-off application through the ASGI test client (issue 19): access rules on every route,
CSRF, throttling, fixation, expiry, identity kept out of URLs/logs/error pages, and the review → rejection →
signature → amendment flow writing real signed versions that `oncopanel verify` checks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from oncopanel.release import Release
from oncopanel.verify import verify_report
from oncopanel.web import security
from oncopanel.web.app import ROUTES, Settings, create_app, create_user
from oncopanel.web.db import (
    MIGRATIONS,
    LoginFailure,
    SampleRecord,
    Site,
    WebSession,
    make_engine,
    open_database,
    schema_version,
)
from oncopanel.web.synth import claim_installed_knowledge_base, synthesise_tree

PASSWORD = "correct horse battery"
SHEET = Path(__file__).resolve().parents[1] / "config" / "samples.tsv"
USERS = (  # username, display name, role, site
    ("rev", "Dr Rev Iewer", "reviewer", None),
    ("rev2", "Dr Second Reviewer", "reviewer", None),
    ("sig", "Dr Sig Ner", "signer", None),
    ("adm", "Lab Admin", "admin", None),
    ("anx", "Dr Anxian", "clinician", "Anxian County"),
    ("bei", "Dr Beiling", "clinician", "Beiling County"),
)


@pytest.fixture(scope="session")
def base_trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("web_trees")
    identities = synthesise_tree(root / "B1", 4)  # T01 (Anxian), T02 (Beiling), T03 (Anxian), T04 (Beiling)
    identities |= synthesise_tree(root / "HELD", 1, batch="SYN-H", held=True)
    claim_installed_knowledge_base(root / "B1")
    return root, identities


class Env:
    def __init__(self, root: Path, identities: dict, url: str = "", **options):
        self.root, self.identities = root, identities
        self.trees_dirs = [root / "B1", root / "HELD"]
        manifest = root / "identity.yaml"
        manifest.write_text((root / "B1" / "identity.yaml").read_text() + (root / "HELD" / "identity.yaml").read_text())
        from oncopanel.web.trees import Tree

        self.sessions = open_database(url or f"sqlite:///{root / 'web.sqlite'}")
        with self.sessions() as db:
            for code in ("Anxian County", "Beiling County"):
                db.add(Site(code=code, name=code))
            db.flush()
            for username, name, role, site in USERS:
                create_user(db, username, name, PASSWORD, role, site)
            db.commit()
        self.settings = Settings(
            trees=[Tree.of(p) for p in self.trees_dirs], sessions=self.sessions,
            policy=security.SessionPolicy(secure_cookie=False), identity_manifest=manifest, **options,
        )  # fmt: skip
        self.app = create_app(self.settings)

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        c = self.client()
        r = post_login(c, username, password)
        assert r.status_code == 303, r.text
        return c

    def sample(self, sample_id: str) -> SampleRecord:
        with self.sessions() as db:
            return db.scalars(select(SampleRecord).where(SampleRecord.sample_id == sample_id)).one()

    def audit_text(self) -> str:
        return "".join((d / "audit.log").read_text() for d in self.trees_dirs)

    def events(self, tree: str = "B1") -> list[dict]:
        return [json.loads(line) for line in (self.root / tree / "audit.log").read_text().splitlines()]


@pytest.fixture
def env(base_trees, tmp_path):
    root, identities = base_trees
    for name in ("B1", "HELD"):
        shutil.copytree(root / name, tmp_path / name)
    return Env(tmp_path, identities)


def post_login(client, username: str, password: str = PASSWORD):  # a TestClient or an httpx.Client
    """The login form's POST with its CSRF token (from the form the GET served, and its cookie)."""
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf": token})


def csrf_of(client: TestClient, url: str = "/reports") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(url).text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_flow(env: Env, sample_id: str, reject: dict[str, str] | None = None) -> SampleRecord:
    """Reviewer decides every finding (rejecting those in ``reject`` with their reason) and marks reviewed; the
    signer signs."""
    from oncopanel.web.review import findings_of
    from oncopanel.web.trees import Tree

    s = env.sample(sample_id)
    rev = env.login("rev")
    token = csrf_of(rev)
    result = Tree.of(env.root / "B1").version_result(sample_id, s.base_version)
    for f in findings_of(result):
        reason = (reject or {}).get(f.id, "")
        r = rev.post(f"/samples/{s.id}/decide", data={"csrf": token, "finding": f.id,
                     "decision": "rejected" if reason else "confirmed", "reason": reason})  # fmt: skip
        assert r.status_code == 303, r.text
    assert rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token}).status_code == 303
    sig = env.login("sig")
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": PASSWORD})
    assert r.status_code == 303, r.text
    return env.sample(sample_id)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def _url(env: Env, path: str) -> str:
    s = env.sample("SYN-01-S001")
    return (path.replace("{sid}", s.id).replace("{tree}", "B1").replace("{rid}", "0" * 24)
            .replace("{uid}", "1").replace("{name}", "genome.fa.gz"))  # fmt: skip


# ---------------------------------------------------------------- database
def test_migrations_bring_a_new_database_to_the_latest_version_once_and_sqlite_runs_in_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    open_database(url)
    engine = make_engine(url)
    assert schema_version(engine) == len(MIGRATIONS)
    open_database(url)  # a second start applies nothing
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM schema_migrations").scalar_one() == len(MIGRATIONS)
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_passwords_are_argon2id_and_short_ones_refused():
    assert security.hash_password(PASSWORD).startswith("$argon2id$")
    with pytest.raises(ValueError, match="12 characters"):
        security.hash_password("short")


# ---------------------------------------------------------------- deny by default
def test_every_route_without_a_session_is_refused_and_audited(env):
    c = env.client()
    assert ROUTES, "no protected route declared"
    for method, path, _roles in ROUTES:
        url = _url(env, path)
        r = c.request(method, url, data={"csrf": "x"} if method == "POST" else None)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"] == "/login", (method, path, r.status_code)
        else:
            assert r.status_code == 401, (method, path, r.status_code)
    refused = [e for e in env.events() if e["event"] == "web_denied_no_session"]
    assert {e["details"]["route"] for e in refused} == {p for _m, p, _r in ROUTES}


def test_every_route_refuses_the_wrong_roles_and_audits_them(env):
    clients = {u[0]: env.login(u[0]) for u in USERS if u[0] in ("rev", "sig", "adm", "anx")}
    tokens = {name: csrf_of(c, "/reports" if name != "adm" else "/admin") for name, c in clients.items()}
    role_of = {"rev": "reviewer", "sig": "signer", "adm": "admin", "anx": "clinician"}
    checked = 0
    for method, path, roles in ROUTES:
        for name, c in clients.items():
            if role_of[name] in roles:
                continue
            r = c.request(method, _url(env, path), data={"csrf": tokens[name]} if method == "POST" else None)
            assert r.status_code == 403, (name, method, path, r.status_code)
            assert "Not allowed" in r.text
            checked += 1
    assert checked > 40
    denied = [e for e in env.events() if e["event"] == "web_denied_role"]
    assert len(denied) == checked and all(e["details"]["web_user"] in role_of for e in denied)


def test_a_clinician_gets_their_own_sites_signed_report_and_not_another_sites(env):
    signed = sign_flow(env, "SYN-01-S001")  # Anxian County
    with env.sessions() as db:
        from oncopanel.web.db import ReportVersion

        rid = db.scalars(select(ReportVersion.id).where(ReportVersion.sample == signed.id)).one()
    anx, bei = env.login("anx"), env.login("bei")
    listing = anx.get("/reports")
    assert f"/reports/{rid}/report.pdf" in listing.text and "SYN-01-S001" in listing.text
    r = anx.get(f"/reports/{rid}/report.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "SYN-01-S001" not in bei.get("/reports").text
    other = bei.get(f"/reports/{rid}/report.pdf")
    assert other.status_code == 404 and "Not found" in other.text
    unknown = bei.get(f"/reports/{'f' * 24}/report.pdf")
    assert unknown.status_code == 404 and unknown.text == other.text  # another site's id looks like no id at all
    denied = [e for e in env.events() if e["event"] == "web_denied_report"]
    assert [e["details"]["web_user"] for e in denied] == ["bei", "bei"]
    assert any(e["event"] == "web_download_report" and e["details"]["web_user"] == "anx" for e in env.events())


def test_centre_pages_of_another_sample_token_are_not_found(env):
    rev = env.login("rev")
    assert rev.get("/samples/" + "0" * 24).status_code == 404
    assert rev.get("/batches/no-such-batch").status_code == 404


# ---------------------------------------------------------------- CSRF, throttling, sessions
def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_audited(env):
    rev = env.login("rev")
    s = env.sample("SYN-01-S001")
    for data in ({"finding": "S1", "decision": "confirmed"}, {"finding": "S1", "decision": "confirmed",
                                                              "csrf": "forged"}):  # fmt: skip
        r = rev.post(f"/samples/{s.id}/decide", data=data)
        assert r.status_code == 403
    other = env.login("rev2")  # a real token, of another session
    r = rev.post(f"/samples/{s.id}/decide", data={"finding": "S1", "decision": "confirmed",
                                                 "csrf": csrf_of(other)})  # fmt: skip
    assert r.status_code == 403
    assert sum(e["event"] == "web_denied_csrf" for e in env.events()) == 3
    assert "undecided" in rev.get(f"/samples/{s.id}").text  # nothing was recorded


def test_the_login_form_refuses_a_post_without_its_csrf_token(env):
    c = env.client()
    r = c.post("/login", data={"username": "rev", "password": PASSWORD})  # a form posted from another site
    assert r.status_code == 403 and "oncopanel_session" not in r.cookies
    c.get("/login")
    r = c.post("/login", data={"username": "rev", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    assert sum(e["event"] == "web_denied_csrf" and e["details"]["route"] == "/login" for e in env.events()) == 2
    assert post_login(c, "rev").status_code == 303


def test_password_brute_force_is_throttled_even_with_the_right_password(env):
    c = env.client()
    for _ in range(security.THROTTLE_FAILURES):
        assert post_login(c, "rev", "wrong password!").status_code == 401
    r = post_login(c, "rev")
    assert r.status_code == 429 and "Too many failed attempts" in r.text
    events = [e["event"] for e in env.events()]
    assert events.count("web_login_failed") == security.THROTTLE_FAILURES and "web_login_throttled" in events


def test_login_rotates_the_session_id_and_a_planted_one_opens_nothing(env):
    c = env.client()
    c.cookies.set("oncopanel_session", "attacker-chosen-value")
    r = post_login(c, "rev")
    token = r.cookies.get("oncopanel_session")
    assert token and token != "attacker-chosen-value"
    first = env.login("rev")
    old = first.cookies.get("oncopanel_session")
    # logging in again from the same browser replaces its session: the old token no longer opens anything
    post_login(first, "rev")
    assert first.cookies.get("oncopanel_session") != old
    stale = env.client()
    stale.cookies.set("oncopanel_session", old)
    assert stale.get("/batches").status_code == 303


def test_cookie_flags_and_security_headers(env):
    r = post_login(env.client(), "rev")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    env.settings.policy = security.SessionPolicy(secure_cookie=True)
    r = post_login(TestClient(env.app, base_url="https://testserver", follow_redirects=False), "rev2")
    assert "secure" in r.headers["set-cookie"].lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")
    page = env.client().get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"


def test_a_session_idle_too_long_has_expired(env):
    rev = env.login("rev")
    assert rev.get("/batches").status_code == 200
    with env.sessions() as db:
        db.execute(update(WebSession).values(last_seen=security.now() - timedelta(hours=2)))
        db.commit()
    assert rev.get("/batches").status_code == 303


# ---------------------------------------------------------------- identity
def test_no_patient_identifier_in_any_url_log_line_or_error_page(env, caplog):
    caplog.set_level("DEBUG")
    sign_flow(env, "SYN-01-S001")
    anx = env.login("anx")
    identity = env.identities["SYN-01-S001"]
    found = anx.post("/reports/search", data={"csrf": csrf_of(anx), "query": identity["name"]})
    assert found.status_code == 200 and "1 report(s) found" in found.text
    secrets = [v for rec in env.identities.values() for k, v in rec.items()
               if k in ("name", "resident_id", "record_number")]  # fmt: skip
    rev = env.login("rev")
    pages = [rev.get("/batches"), rev.get("/batches/B1"), rev.get(f"/samples/{env.sample('SYN-01-S001').id}"),
             anx.get("/reports"), found]  # fmt: skip
    # someone types a patient's name into a URL: the error page and the audit entry do not repeat it
    typed = anx.get(f"/reports/{identity['resident_id']}/report.pdf")
    assert typed.status_code == 404
    urls = [u for p in pages for u in re.findall(r'(?:href|src|action)="([^"]*)"', p.text)]
    assert urls
    for secret in secrets:
        assert all(secret not in u for u in urls), secret
        assert secret not in typed.text
        assert secret not in env.audit_text()
        # the server's log lines (the test client's own request log is the "browser" and shows what it typed)
        assert all(secret not in r.getMessage() for r in caplog.records if r.name != "httpx")


def test_patient_search_is_limited_to_the_clinicians_site(env):
    sign_flow(env, "SYN-01-S001")  # Anxian
    bei = env.login("bei")
    name = env.identities["SYN-01-S001"]["name"]
    r = bei.post("/reports/search", data={"csrf": csrf_of(bei), "query": name})
    assert "0 report(s) found" in r.text and "SYN-01-S001" not in r.text
    assert env.client().get("/reports/search").status_code in (303, 404, 405)  # never a GET with the query


# ---------------------------------------------------------------- review, signature, amendment
def test_reject_sign_amend_writes_verified_versions_with_decisions_and_rematched_therapies(env):
    tree = env.root / "B1"
    before = json.loads((tree / "release/SYN-01-S001/v1/result.json").read_text())
    assert [v["gene"] for v in before["somatic"]] == ["EGFR"]
    assert any("S1" in t["finding_ids"] for t in before["therapies"])
    s = env.sample("SYN-01-S001")
    rev = env.login("rev")
    missing = rev.post(f"/samples/{s.id}/decide", data={"csrf": csrf_of(rev), "finding": "S1", "decision":
                       "rejected", "reason": "  "})  # fmt: skip
    assert missing.status_code == 409 and "reason" in missing.text
    signed = sign_flow(env, "SYN-01-S001", reject={"S1": "strand-biased artefact on IGV review"})
    assert signed.state == "signed" and signed.signed_version == 2
    record = Release(tree, "SYN-01-S001")
    assert [v["version"] for v in record.versions] == [1, 2] and record.versions[0]["superseded_by"] == 2
    doc = json.loads((tree / "release/SYN-01-S001/v2/result.json").read_text())
    assert doc["somatic"] == []  # the rejected finding left the released result
    assert all("S1" not in t["finding_ids"] for t in doc["therapies"])  # matching re-run without it
    assert not any(t.get("status") == "option" and t["gene"] == "EGFR" for t in doc["therapies"])
    decision = next(d for d in doc["signoff"]["decisions"] if d["finding_id"] == "S1")
    assert decision["decision"] == "rejected" and decision["reason"] == "strand-biased artefact on IGV review"
    assert doc["signoff"]["reviewed_by"] == "Dr Rev Iewer" and doc["signoff"]["signed_by"] == "Dr Sig Ner"
    pdf = tree / "release/SYN-01-S001/v2/report.pdf"
    text = pdf_text(pdf)
    assert "Dr Rev Iewer" in text and "Dr Sig Ner" in text and "strand-biased artefact" in text
    assert "DRAFT" not in text
    assert "DRAFT" in pdf_text(tree / "release/SYN-01-S001/v1/report.pdf")
    assert Path(tree / "reports/SYN-01-S001.pdf").read_bytes() == pdf.read_bytes()  # the delivered copy
    verdict = verify_report(pdf, tree / "release/SYN-01-S001/v2/result.json")
    assert verdict.ok, "\n".join(verdict.lines)
    cli = subprocess.run([sys.executable, "-m", "oncopanel.cli", "verify", str(tree / "reports/SYN-01-S001.pdf")],
                         capture_output=True, text=True)  # fmt: skip
    assert cli.returncode == 0, cli.stdout + cli.stderr
    # a signed version whose decisions were edited no longer verifies
    tampered = dict(doc, signoff={**doc["signoff"], "decisions": []})
    (tree / "result/SYN-01-S001.result.json").write_text(json.dumps(tampered, indent=2, sort_keys=True) + "\n")
    assert not verify_report(tree / "reports/SYN-01-S001.pdf").ok
    record.restore()

    # amendment: reason required, a new version, the old kept and superseded; clinicians see it as amended
    sig = env.login("sig")
    token = csrf_of(sig)
    assert sig.post(f"/samples/{s.id}/amend", data={"csrf": token, "reason": ""}).status_code == 409
    assert sig.post(f"/samples/{s.id}/amend", data={"csrf": token, "reason": "EGFR confirmed by ddPCR"}).status_code \
        == 303
    rev = env.login("rev")
    r = rev.post(f"/samples/{s.id}/decide", data={"csrf": csrf_of(rev), "finding": "S1", "decision": "confirmed"})
    assert r.status_code == 303
    assert rev.post(f"/samples/{s.id}/reviewed", data={"csrf": csrf_of(rev)}).status_code == 303
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": token, "password": PASSWORD})
    assert r.status_code == 303, r.text
    v3 = json.loads((tree / "release/SYN-01-S001/v3/result.json").read_text())
    assert v3["amendment"] == {"supersedes": f"{v3['report_id']} v2", "reason": "EGFR confirmed by ddPCR"}
    assert [v["gene"] for v in v3["somatic"]] == ["EGFR"]
    assert Release(tree, "SYN-01-S001").versions[1]["superseded_by"] == 3
    assert "EGFR confirmed by ddPCR" in pdf_text(tree / "release/SYN-01-S001/v3/report.pdf")
    listing = env.login("anx").get("/reports").text
    assert "amended" in listing and "EGFR confirmed by ddPCR" in listing and listing.count("SYN-01-S001") == 1
    events = [e["event"] for e in env.events()]
    for event in ("web_finding_rejected", "web_reviewed", "web_signed", "web_amendment_opened", "result_released"):
        assert event in events
    from oncopanel.audit import verify_results

    chain = verify_results(tree)  # the web's entries and the signed versions' anchors in the one chain
    assert chain.ok, chain.lines


def test_a_wrong_password_does_not_sign(env):
    s = env.sample("SYN-01-S002")
    rev = env.login("rev")
    token = csrf_of(rev)
    rev.post(f"/samples/{s.id}/decide", data={"csrf": token, "finding": "S1", "decision": "confirmed"})
    rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token})
    sig = env.login("sig")
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": "not my password"})
    assert r.status_code == 409 and env.sample("SYN-01-S002").state == "reviewed"
    assert "web_sign_password_failed" in [e["event"] for e in env.events()]
    assert len(Release(env.root / "B1", "SYN-01-S002").versions) == 1
    with env.sessions() as db:  # counted toward the login throttle
        assert db.scalars(select(LoginFailure).where(LoginFailure.username == "sig")).all()
    with env.sessions() as db:  # another signer is releasing it right now: no second version
        db.execute(update(SampleRecord).where(SampleRecord.id == s.id).values(state="signing"))
        db.commit()
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": PASSWORD})
    assert r.status_code == 409 and len(Release(env.root / "B1", "SYN-01-S002").versions) == 1


def test_the_reviewer_may_not_sign_their_own_sample_unless_the_centre_allows_it(env, base_trees):
    with env.sessions() as db:  # a reviewer who is also a signing physician
        create_user(db, "both", "Dr Both", PASSWORD, "signer", None)
        db.commit()
    s = env.sample("SYN-01-S002")
    rev = env.login("rev")
    token = csrf_of(rev)
    rev.post(f"/samples/{s.id}/decide", data={"csrf": token, "finding": "S1", "decision": "confirmed"})
    rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token})
    with env.sessions() as db:  # recorded as reviewed by the signer
        both = db.scalars(select(security.User).where(security.User.username == "both")).one()
        db.execute(update(SampleRecord).where(SampleRecord.id == s.id).values(reviewed_by=both.id))
        db.commit()
    c = env.login("both")
    r = c.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(c), "password": PASSWORD})
    assert r.status_code == 409 and "reviewer may not also sign" in r.text
    env.settings.allow_reviewer_signs = True
    r = c.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(c), "password": PASSWORD})
    assert r.status_code == 303 and env.sample("SYN-01-S002").state == "signed"


def test_signing_a_sample_of_a_held_batch_is_refused_and_audited(env):
    s = env.sample("SYN-H-S001")
    rev = env.login("rev")
    page = rev.get("/batches/HELD")
    assert "Batch held" in page.text and "COLO829T" in page.text and "fail" in page.text
    token = csrf_of(rev)
    assert rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token}).status_code == 303  # nothing to decide
    sig = env.login("sig")
    assert "cannot be signed" in sig.get(f"/samples/{s.id}").text
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": PASSWORD})
    assert r.status_code == 409 and "held" in r.text
    assert env.sample("SYN-H-S001").state == "reviewed"
    assert "web_denied_sign" in [e["event"] for e in env.events("HELD")]
    assert len(Release(env.root / "HELD", "SYN-H-S001").versions) == 1


def test_negative_samples_are_confirmed_in_bulk(env):
    negative, positive = env.sample("SYN-01-S004"), env.sample("SYN-01-S001")  # T04: RAS wild type, no variant
    rev = env.login("rev")
    r = rev.post("/batches/B1/confirm-negatives", data={"csrf": csrf_of(rev), "sample": [negative.id, positive.id]})
    assert r.status_code == 303
    assert env.sample("SYN-01-S004").state == "reviewed"
    assert env.sample("SYN-01-S001").state == "pending"  # a sample with a finding is never bulk-confirmed


def test_rematch_is_refused_when_the_knowledge_base_is_not_the_drafts(env):
    path = env.root / "B1/release/SYN-01-S003/v1/result.json"
    doc = json.loads(path.read_text())
    doc["provenance"]["knowledge_base"]["version"] = "1999-01-01+000000000000"
    path.write_text(json.dumps(doc, indent=2))
    s = env.sample("SYN-01-S003")
    rev = env.login("rev")
    token = csrf_of(rev)
    rev.post(f"/samples/{s.id}/decide", data={"csrf": token, "finding": "S1", "decision": "rejected",
                                              "reason": "artefact"})  # fmt: skip
    rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token})
    sig = env.login("sig")
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": PASSWORD})
    assert r.status_code == 409 and "knowledge base 1999-01-01" in r.text
    assert env.sample("SYN-01-S003").state == "reviewed"


def test_turnaround_is_shown_per_sample_site_and_batch(env):
    signed = sign_flow(env, "SYN-01-S001")
    days = (signed.signed_at.date() - __import__("datetime").date.fromisoformat(signed.received_date)).days
    page = env.login("sig").get("/turnaround").text
    assert "Anxian County" in page and "SYN-01" in page and f"<td>{days}</td>" in page
    doc = json.loads((env.root / "B1/release/SYN-01-S001/v2/result.json").read_text())
    assert doc["signoff"]["turnaround_days"] == days


def test_admin_registers_sites_and_users_and_the_sheet_check_uses_the_registry(env, tmp_path):
    adm = env.login("adm")
    token = csrf_of(adm, "/admin")
    assert adm.post("/admin/sites", data={"csrf": token, "code": "Chengxi County", "name": "Chengxi"}).status_code \
        == 303
    r = adm.post("/admin/users", data={"csrf": token, "username": "chx", "display_name": "Dr Chengxi",
                                       "password": PASSWORD, "role": "clinician", "site": "Chengxi County"})
    assert r.status_code == 303
    assert env.login("chx").get("/reports").status_code == 200
    bad = adm.post("/admin/users", data={"csrf": token, "username": "x", "display_name": "X", "password": PASSWORD,
                                         "role": "clinician", "site": "Nowhere"})  # fmt: skip
    assert bad.status_code == 409
    events = [e["event"] for e in env.events()]
    assert "web_site_created" in events and "web_user_created" in events


# ---------------------------------------------------------------- PostgreSQL (a throwaway server, Debian's packages)
@pytest.fixture(scope="module")
def postgres_url():
    from oncopanel.web.pgserver import postgres_bindir, throwaway_postgres

    if postgres_bindir() is None:
        pytest.skip("PostgreSQL server binaries absent (Debian package postgresql, installed by scripts/setup.sh)")
    with throwaway_postgres(port=5499) as url:
        yield url


def test_postgresql_migrates_once_and_carries_the_whole_review_and_signature(postgres_url, base_trees, tmp_path):
    from sqlalchemy import text

    from oncopanel.web.db import Base

    engine = make_engine(postgres_url)
    with engine.begin() as conn:  # a clean database for this test
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS schema_migrations"))
    root, identities = base_trees
    for name in ("B1", "HELD"):
        shutil.copytree(root / name, tmp_path / name)
    env = Env(tmp_path, identities, url=postgres_url)
    assert schema_version(engine) == len(MIGRATIONS)
    open_database(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM schema_migrations")).scalar_one() == len(MIGRATIONS)
    signed = sign_flow(env, "SYN-01-S001", reject={"S1": "artefact"})
    assert signed.state == "signed" and signed.signed_version == 2
    doc = json.loads((tmp_path / "B1/release/SYN-01-S001/v2/result.json").read_text())
    assert doc["somatic"] == [] and doc["signoff"]["decisions"][0]["reason"] == "artefact"
    c = env.client()
    for _ in range(security.THROTTLE_FAILURES):
        post_login(c, "anx", "wrong password!")
    assert post_login(c, "anx").status_code == 429


def test_users_and_sites_commands_manage_the_registry_and_check_a_sheet(tmp_path, monkeypatch, capsys):
    from oncopanel.cli import main

    db = ["--db", f"sqlite:///{tmp_path / 'cli.sqlite'}"]
    assert main(["sites", *db, "check", str(SHEET)]) == 0  # no registry yet: nothing to check against
    assert main(["sites", *db, "add", "Anxian County", "--name", "Anxian"]) == 0
    monkeypatch.setenv("ONCOPANEL_NEW_PASSWORD", PASSWORD)
    assert main(["users", *db, "add", "county1", "--name", "Dr Wang", "--role", "clinician", "--site",
                 "Anxian County"]) == 0  # fmt: skip
    assert main(["users", *db, "add", "x", "--name", "X", "--role", "clinician", "--site", "Nowhere"]) == 2
    assert main(["users", *db, "list"]) == 0
    assert "county1\tclinician\tAnxian County\tactive" in capsys.readouterr().out
    assert main(["sites", *db, "check", str(SHEET)]) == 1  # EX-T02's Beiling County is not registered
    err = capsys.readouterr().err
    # the workflow's input check's line (oncopanel.inputs.SiteRegistry), naming sample, sheet and problem
    assert (f"sample EX-T02: {SHEET}: site 'Beiling County' is not a code of the site registry (the review database)"
            in err and "EX-T01" not in err)  # fmt: skip
    assert main(["sites", *db, "add", "Beiling County", "--name", "Beiling"]) == 0
    assert main(["sites", *db, "check", str(SHEET)]) == 0


def test_an_identity_record_that_does_not_match_the_result_stops_the_signature(env):
    import yaml

    manifest = env.settings.identity_manifest
    records = yaml.safe_load(manifest.read_text())
    for r in records:
        if r["sample_id"] == "SYN-01-S002":
            r["patient"] = "P99999"  # the manifest names another patient for this sample
    manifest.write_text(yaml.safe_dump(records, allow_unicode=True))
    s = env.sample("SYN-01-S002")
    rev = env.login("rev")
    token = csrf_of(rev)
    rev.post(f"/samples/{s.id}/decide", data={"csrf": token, "finding": "S1", "decision": "confirmed"})
    rev.post(f"/samples/{s.id}/reviewed", data={"csrf": token})
    sig = env.login("sig")
    r = sig.post(f"/samples/{s.id}/sign", data={"csrf": csrf_of(sig), "password": PASSWORD})
    assert r.status_code == 409 and "refusing to print another patient" in r.text
    assert env.sample("SYN-01-S002").state == "reviewed"  # released nothing, can be signed once corrected
    assert all(secret not in r.text for secret in (env.identities["SYN-01-S002"]["name"],))
    assert not (env.root / "B1/release/SYN-01-S002/v2").exists()  # no half-written version left behind
    assert "web_release_abandoned" in [e["event"] for e in env.events()]

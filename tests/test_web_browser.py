"""The review application in a real browser: Debian's headless Chromium driven by Selenium through
/usr/bin/chromedriver, against `oncopanel serve`'s app run by uvicorn on loopback (issue 19).

Login, the review page with the read viewer (igv.js, served by the application, on a BAM of the sample) drawn,
a rejection with its reason, the signature, an amendment, a county clinician downloading their signed report and
failing to open another site's. Long (`make test-long`): about a minute (Chromium start-up, PDF rendering).
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from oncopanel.web import security
from oncopanel.web.app import Settings, create_app, create_user
from oncopanel.web.db import Site, open_database
from oncopanel.web.synth import claim_installed_knowledge_base, synthesise_tree
from oncopanel.web.trees import Tree
from oncopanel.web.vendor import IGV_JS

pytestmark = pytest.mark.long
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PASSWORD = "correct horse battery"
VARIANT = 55191822  # EGFR L858R, chr7 (1-based), the synthesised S001's finding (demo T01)
CONTIG_LENGTH = VARIANT + 400


def _reference_and_reads(tree: Path, sample_id: str) -> Path:
    """A bgzipped, indexed chr7 (N except around the variant) and a small BAM over the variant (half the reads
    carry T>G), so the viewer has real range requests to make."""
    import pysam

    rng = random.Random(19)
    window_start = VARIANT - 300
    window = [rng.choice("ACGT") for _ in range(600)]
    window[VARIANT - 1 - window_start] = "T"
    plain = tree / "ref.fa"
    with plain.open("w") as out:
        out.write(">chr7\n")
        seq = "N" * window_start + "".join(window) + "N" * (CONTIG_LENGTH - window_start - 600)
        for i in range(0, len(seq), 60):
            out.write(seq[i : i + 60] + "\n")
    fasta = Path(pysam.tabix_compress(str(plain), str(tree / "ref.fa.gz"), force=True) or tree / "ref.fa.gz")
    pysam.faidx(str(fasta))
    (tree / "bam").mkdir(exist_ok=True)
    unsorted = tree / "bam" / "unsorted.bam"
    header = {"HD": {"VN": "1.6"}, "SQ": [{"SN": "chr7", "LN": CONTIG_LENGTH}]}
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as bam:
        for i in range(60):
            start = VARIANT - 90 + i  # 0-based start; reads of 100 bases all covering the variant
            bases = list(seq[start : start + 100])
            if i % 2:
                bases[VARIANT - 1 - start] = "G"
            read = pysam.AlignedSegment()
            read.query_name, read.query_sequence = f"r{i}", "".join(bases)
            read.flag, read.reference_id, read.reference_start = 0, 0, start
            read.mapping_quality, read.cigar = 60, [(0, 100)]
            read.query_qualities = pysam.qualitystring_to_array("I" * 100)
            bam.write(read)
    target = tree / "bam" / f"{sample_id}.bam"
    pysam.sort("-o", str(target), str(unsorted))
    pysam.index(str(target))
    unsorted.unlink()
    return fasta


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip("Debian chromium and chromium-driver are not installed (scripts/setup.sh installs them)")
    if not IGV_JS.exists():
        pytest.skip("igv.js not fetched (scripts/setup.sh: python -m oncopanel.web.vendor)")
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    identities = synthesise_tree(root / "B1", 2)  # S001 Anxian (EGFR L858R), S002 Beiling
    fasta = _reference_and_reads(root / "B1", "SYN-01-S001")
    claim_installed_knowledge_base(root / "B1")
    sessions = open_database(f"sqlite:///{root / 'web.sqlite'}")
    with sessions() as db:
        for code in ("Anxian County", "Beiling County"):
            db.add(Site(code=code, name=code))
        db.flush()
        for username, name, role, site in (("rev", "Dr Rev", "reviewer", None), ("sig", "Dr Sig", "signer", None),
                                           ("anx", "Dr Anxian", "clinician", "Anxian County")):  # fmt: skip
            create_user(db, username, name, PASSWORD, role, site)
        db.commit()
    settings = Settings(trees=[Tree.of(root / "B1")], sessions=sessions, reference=fasta,
                        policy=security.SessionPolicy(secure_cookie=False),
                        identity_manifest=root / "B1" / "identity.yaml")  # fmt: skip
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", root, identities
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--disable-extensions", "--window-size=1300,1600"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _login(d, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    d.delete_all_cookies()
    d.get(f"{base}/login")
    d.find_element(By.ID, "username").send_keys(username)
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "login").click()
    _wait(lambda: "/login" not in d.current_url or d.find_elements(By.ID, "error"), 20)
    assert "/login" not in d.current_url, d.find_element(By.TAG_NAME, "body").text


def _sample_url(d, base: str, sample_id: str) -> str:
    from selenium.webdriver.common.by import By

    d.get(f"{base}/batches/B1")
    link = next(a for a in d.find_elements(By.CSS_SELECTOR, "#queue a") if a.text == sample_id)
    return link.get_attribute("href")


def _wait(predicate, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError("timed out waiting in the browser")


def _wait_text(d, element_id: str, text: str) -> None:
    """Until the page (the one a click navigated to: POST, 303, GET) shows ``text`` in the element."""
    script = "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''"
    try:
        _wait(lambda: text in " ".join(d.execute_script(script, element_id).split()))
    except AssertionError:
        raise AssertionError(f"#{element_id} never showed {text!r}: {d.execute_script(script, element_id)!r}") from None


def _http_login(client: httpx.Client, username: str) -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf": token}).status_code == 200


def _post(client: httpx.Client, url: str, **data: str) -> httpx.Response:
    page = client.get(url.rsplit("/", 1)[0] if url.endswith(("/decide", "/reviewed", "/sign")) else "/reports")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(url, data={"csrf": token, **data})


def test_review_reject_sign_amend_and_clinician_downloads_in_chromium(server, browser):
    from selenium.webdriver.common.by import By

    base, root, _ = server
    d = browser
    _login(d, base, "rev")
    url = _sample_url(d, base, "SYN-01-S001")
    d.get(url)
    try:
        _wait(lambda: d.execute_script("const v = document.getElementById('igv'); return v && v.dataset.ready") == "1")
    except AssertionError:
        d.save_screenshot(str(root / "review-failed.png"))
        raise AssertionError(f"the read viewer did not load: {d.get_log('browser')}") from None
    viewer = d.find_element(By.ID, "igv")
    assert viewer.is_displayed() and viewer.size["height"] > 200
    # the reads track loads: igv.js asks this server for the BAM's index, then the slice of the BAM
    names = "return performance.getEntriesByType('resource').map(e => e.name)"
    _wait(lambda: any(r.endswith("/reads.bam") for r in d.execute_script(names)))
    resources = d.execute_script(names)
    assert any(r.endswith("/reads.bam.bai") for r in resources) and any("igv.min.js" in r for r in resources)
    assert all(r.startswith(base) for r in resources), [r for r in resources if not r.startswith(base)]
    d.save_screenshot(str(root / "review.png"))

    row = d.find_element(By.ID, "finding-S1")
    row.find_element(By.CSS_SELECTOR, "input.reason").send_keys("artefact: strand bias in the viewer")
    row.find_element(By.CSS_SELECTOR, "button.reject").click()
    _wait_text(d, "finding-S1", "rejected: artefact: strand bias in the viewer")
    d.find_element(By.ID, "mark-reviewed").click()
    _wait_text(d, "state", "reviewed")

    _login(d, base, "sig")
    d.get(url)
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign").click()
    _wait_text(d, "state", "signed")
    assert "v2" in d.find_element(By.ID, "versions").text

    d.find_element(By.ID, "amend-reason").send_keys("variant confirmed by ddPCR")
    d.find_element(By.ID, "amend").click()
    _wait_text(d, "state", "amending")
    _login(d, base, "rev")
    d.get(url)
    d.find_element(By.ID, "finding-S1").find_element(By.CSS_SELECTOR, "button.confirm").click()
    _wait_text(d, "finding-S1", "confirmed")
    d.find_element(By.ID, "mark-reviewed").click()
    _wait_text(d, "state", "reviewed")
    _login(d, base, "sig")
    d.get(url)
    d.find_element(By.ID, "sign-password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign").click()
    _wait_text(d, "versions", "v3 amended: variant confirmed by ddPCR")
    assert "superseded" in d.find_element(By.ID, "versions").text

    # another site's signed report (Beiling's S002), signed over HTTP by the same staff
    with httpx.Client(base_url=base, follow_redirects=True) as staff:
        _http_login(staff, "rev")
        _login(d, base, "rev")
        s2 = _sample_url(d, base, "SYN-01-S002").removeprefix(base)
        assert _post(staff, f"{s2}/decide", finding="S1", decision="confirmed").status_code == 200
        assert _post(staff, f"{s2}/reviewed").status_code == 200
    with httpx.Client(base_url=base, follow_redirects=True) as signer:
        _http_login(signer, "sig")
        assert _post(signer, f"{s2}/sign", password=PASSWORD).status_code == 200
        other = re.search(r'href="(/reports/[0-9a-f]+/report.pdf)"', signer.get(s2).text).group(1)

    _login(d, base, "anx")
    d.get(f"{base}/reports")
    table = d.find_element(By.ID, "reports").text
    assert "SYN-01-S001" in table and "amended" in table and "SYN-01-S002" not in table
    link = d.find_element(By.CSS_SELECTOR, "#reports a.download").get_attribute("href")
    fetched = d.execute_script(
        "const r = await fetch(arguments[0]); const b = new Uint8Array(await r.arrayBuffer());"
        "return [r.status, String.fromCharCode(...b.slice(0, 5)), r.headers.get('content-type')];", link)
    assert fetched == [200, "%PDF-", "application/pdf"]
    d.get(f"{base}{other}")
    assert d.find_element(By.ID, "error-title").text == "Not found"
    audit = (root / "B1" / "audit.log").read_text()
    assert '"web_denied_report"' in audit and '"web_download_report"' in audit

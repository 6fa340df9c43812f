"""The read viewer igv.js, fetched from the npm registry at set-up (scripts/setup.sh), never committed.

`npm pack igv@<IGV_VERSION>` downloads the package tarball; its SHA-512 must equal the registry's published
integrity (``IGV_INTEGRITY``, pinned here with the version) before ``package/dist/igv.min.js`` is extracted into
``oncopanel/web/static/vendor/`` (git-ignored). The application serves it from there: its pages load no script from
a CDN, which a centre may not reach. Run: ``python -m oncopanel.web.vendor`` (idempotent).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

IGV_VERSION = "3.8.10"
IGV_INTEGRITY = "sha512-foqT9SJHoKvVXl7euYUsOy7XMs1nTrPeJMQbGRp7qWU7a6HzF345FER/nHUTdsL5cumaoAe19gDmJYsEHO08rw=="
VENDOR = Path(__file__).parent / "static" / "vendor"
IGV_JS = VENDOR / "igv.min.js"
_STAMP = VENDOR / "igv.version"


def integrity_of(data: bytes) -> str:
    """The npm Subresource-Integrity string of a tarball."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def install_igv(tarball: Path) -> Path:
    """Check a packed igv tarball against the pinned integrity and extract its dist file."""
    data = tarball.read_bytes()
    if integrity_of(data) != IGV_INTEGRITY:
        raise SystemExit(f"{tarball}: SHA-512 integrity {integrity_of(data)} is not the pinned {IGV_INTEGRITY}")
    with tarfile.open(tarball) as tar:
        member = tar.getmember("package/dist/igv.min.js")
        source = tar.extractfile(member)
        assert source is not None
        VENDOR.mkdir(parents=True, exist_ok=True)
        tmp = IGV_JS.with_suffix(".tmp")
        tmp.write_bytes(source.read())
        tmp.replace(IGV_JS)
    _STAMP.write_text(IGV_VERSION + "\n")
    return IGV_JS


def fetch_igv() -> Path:
    if IGV_JS.exists() and _STAMP.exists() and _STAMP.read_text().strip() == IGV_VERSION:
        return IGV_JS
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"igv@{IGV_VERSION}", "--silent", "--pack-destination", tmp], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        tarball = Path(tmp) / f"igv-{IGV_VERSION}.tgz"
        return install_igv(tarball)


if __name__ == "__main__":
    path = fetch_igv()
    print(f"igv.js {IGV_VERSION} (integrity checked) at {path}", file=sys.stderr)

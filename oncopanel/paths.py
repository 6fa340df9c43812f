"""Where oncopanel's own data lives: annotation/, config/, reports/ and workflow/schemas/.

In a checkout (an editable install, the workflow run from the repository) they are the repository's own
directories. A built wheel carries copies of them as package data under ``oncopanel/_data/`` (setup.py's build
step), found here through ``importlib.resources``, so an installed ``oncopanel`` runs from any directory. The data
are read as files: the package must be installed on a file system (not imported from a zip).

Nothing here depends on the working directory except ``RESOURCES``: the prepared reference is not package data.
"""

from importlib.resources import files
from pathlib import Path

_PACKAGE = Path(str(files("oncopanel")))
_WHEEL_DATA = _PACKAGE / "_data"
# A wheel has _data/ (the build step writes it into the wheel only, never into the source tree); a checkout has not.
_IN_CHECKOUT = not _WHEEL_DATA.is_dir()
DATA = _PACKAGE.parent if _IN_CHECKOUT else _WHEEL_DATA
"""The directory holding annotation/, config/, reports/ and workflow/schemas/. Relative paths that name the
workflow's own data inside its settings files (the lab's index kit, the identity SNP set) resolve against it."""

ANNOTATION = DATA / "annotation"
CONFIG = DATA / "config"
REPORTS = DATA / "reports"
SCHEMAS = DATA / "workflow" / "schemas"
# The prepared reference (`oncopanel reference prepare`; the config's reference.fasta): the checkout's resources/,
# or resources/ under the working directory when installed, where that command writes it by default.
RESOURCES = DATA / "resources" if _IN_CHECKOUT else Path("resources")
# The checkout, for developer tools run from it (scripts/make_demo.py, tests); the package itself resolves nothing
# against it.
ROOT = _PACKAGE.parent

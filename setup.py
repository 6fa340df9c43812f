"""Build step (the rest of the build is declared in pyproject.toml): a wheel carries the repository's data —
annotation/, config/, reports/, workflow/schemas/ — as package data under oncopanel/_data/, where
oncopanel/paths.py finds it through importlib.resources. The directories stay at the top of the repository for
users and the workflow; the copy is made in the build directory only, so a checkout never has a stale _data/.
An editable install reads the checkout itself and gets no copy."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE_DATA = ("annotation", "config", "reports", "workflow/schemas")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "oncopanel" / "_data"
        for name in PACKAGE_DATA:
            shutil.copytree(Path(name), target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip


setup(cmdclass={"build_py": BuildPyWithData})

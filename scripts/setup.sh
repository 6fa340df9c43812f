#!/usr/bin/env bash
# One-time set-up shared by `make demo`, `make test` and the container recipes (Dockerfile, workflow/oncopanel.def):
# Debian tools the workflow calls, then a virtualenv with the package.
# Idempotent: installs only what is missing. Not root and something missing: print the exact command and stop.
#   VENV=.venv          where the virtualenv goes
#   EXTRAS=test,workflow which optional dependency groups of pyproject.toml to install (the containers: workflow)
#   EDITABLE=1          install the package editable (a checkout); 0 copies it (the containers)
#   bash scripts/setup.sh --print-packages   prints the Debian package list and exits (tests compare it)
set -euo pipefail

# Debian packages and a file that proves each is installed: one list, scripts/debian-packages.txt, which the
# Dockerfile and the Apptainer definition run this script to install.
PACKAGE_LIST=${PACKAGE_LIST:-scripts/debian-packages.txt}
declare -A PROBES=()
while read -r pkg probe _; do
  if [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ]; then continue; fi
  PROBES[$pkg]=$probe
done < "$PACKAGE_LIST"
if [ "${1:-}" = "--print-packages" ]; then
  printf '%s\n' "${!PROBES[@]}" | sort
  exit 0
fi
missing=()
for pkg in "${!PROBES[@]}"; do
  [ -e "${PROBES[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort)
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "oncopanel set-up needs these Debian packages: ${missing[*]}" >&2
    echo "Run as root, then re-run make:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
  echo ">> installing Debian packages: ${missing[*]}"
  sh -c "$cmd"
fi

# mosdepth is linked against libhts: check it actually loads (Debian ships it without pulling libhts-dev's .so link).
mosdepth --version >/dev/null

VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
EXTRAS=${EXTRAS:-test,workflow}
EDITABLE=${EDITABLE:-1}
# The exact versions of every Python dependency (`make lock` writes it; README "Python dependencies").
LOCK=${LOCK:-requirements.lock}
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.oncopanel-installed"
# What was installed: a different install (extras, mode) installs again.
if [ "$EDITABLE" = 1 ]; then mode=compat; else mode=copy; fi
installed="extras=$EXTRAS editable=$EDITABLE mode=$mode"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$installed" ] || [ pyproject.toml -nt "$stamp" ] \
  || { [ -f "$LOCK" ] && [ "$LOCK" -nt "$stamp" ]; }; then
  echo ">> installing oncopanel and its Python dependencies into $VENV"
  pip=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
  # The lock first, so every dependency comes at its locked version; then the package, whose own requirements
  # are then met (a dependency added to pyproject.toml since the lock was written still installs).
  if [ -f "$LOCK" ]; then "${pip[@]}" -r "$LOCK"; fi
  # compat: the checkout as one path entry (a .pth line). setuptools' default editable finder imports pathlib,
  # urllib and more at every Python start: 0.015 CPU-s a process, and each sample starts Python several times.
  if [ "$EDITABLE" = 1 ]; then
    "${pip[@]}" -e ".[$EXTRAS]" --config-settings editable_mode=compat
  else
    "${pip[@]}" ".[$EXTRAS]"
  fi
  echo "$installed" > "$stamp"
fi
# A checkout's modules byte-compiled (pip does it for a non-editable install): where PYTHONDONTWRITEBYTECODE is set,
# as on CI, every workflow step would otherwise compile the package's modules again at each start (~0.05 CPU-s a
# step, issue 21). Up-to-date files are skipped; a stale .pyc is never used (Python checks the source's mtime).
if [ "$EDITABLE" = 1 ]; then "$VENV/bin/python" -m compileall -q oncopanel >/dev/null; fi
# The review application's read viewer: igv.js from the npm registry, pinned and integrity-checked (oncopanel/web/vendor.py).
"$VENV/bin/python" -m oncopanel.web.vendor

#!/usr/bin/env bash
# One-time set-up shared by `make demo` and `make test`: Debian tools the workflow calls, then a virtualenv.
# Idempotent: installs only what is missing. Not root and something missing: print the exact command and stop.
set -euo pipefail

# Debian package → a file that proves it is installed.
declare -A PROBES=(
  [bwa]=/usr/bin/bwa
  [minimap2]=/usr/bin/minimap2
  [samtools]=/usr/bin/samtools
  [bcftools]=/usr/bin/bcftools
  [freebayes]=/usr/bin/freebayes
  [fastp]=/usr/bin/fastp
  [mosdepth]=/usr/bin/mosdepth
  [libhts-dev]=/usr/include/htslib/hts.h
  [tabix]=/usr/bin/tabix
  [multiqc]=/usr/bin/multiqc
  [art-nextgen-simulation-tools]=/usr/bin/art_illumina
  [poppler-utils]=/usr/bin/pdftotext
  [fonts-wqy-zenhei]=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
  [fonts-dejavu-core]=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  # web review application (issue 19): browser tests, PostgreSQL tests, igv.js fetched with npm pack
  [chromium]=/usr/bin/chromium [chromium-driver]=/usr/bin/chromedriver [postgresql]=/usr/share/doc/postgresql [npm]=/usr/bin/npm
)
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
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.oncopanel-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo ">> installing oncopanel and its Python dependencies into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi
# The review application's read viewer: igv.js from the npm registry, pinned and integrity-checked (oncopanel/web/vendor.py).
"$VENV/bin/python" -m oncopanel.web.vendor

#!/usr/bin/env bash
# Sets up glyphgpt on a Debian/Ubuntu machine and is safe to run again (it skips what is there):
#   system packages: GNU Unifont (the glyphs), the embedded default corpus (King James Bible, Russian
#                    and Chinese fortunes), and g++ with Python's headers, which torch.compile needs on
#                    CPU (config/cpu.py compiles), through apt as root or with passwordless sudo;
#   a virtualenv in .venv with requirements.txt.
# TORCH_INDEX=https://download.pytorch.org/whl/cpu bash setup.sh  installs the CPU-only torch wheel.
# bash setup.sh --extras  also installs requirements-extras.txt: lm-eval, transformers, matplotlib, datasets.
set -euo pipefail
cd "$(dirname "$0")"
extras=0
for arg in "$@"; do
    case "$arg" in
        --extras) extras=1 ;;
        *) echo "setup.sh: unknown option $arg; the only one is --extras (the optional libraries)" >&2; exit 1 ;;
    esac
done
APT_PACKAGES="fonts-unifont bible-kjv fortunes-ru fortunes-zh g++ python3-dev"
PY=${PYTHON:-python3}

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    { echo "setup.sh: glyphgpt needs Python >= 3.10; set PYTHON=/path/to/python3.10+" >&2; exit 1; }
missing=()
if command -v dpkg >/dev/null; then
    for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    "$PY" -c 'import ensurepip' 2>/dev/null || missing+=("python3-venv")
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
    else
        echo "setup.sh: missing system packages; run this, then setup.sh again:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "setup.sh: installing ${missing[*]}"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
elif ! command -v dpkg >/dev/null; then
    echo "setup.sh: not Debian/Ubuntu: install GNU Unifont yourself (see docs/glyphs.md); the default corpus needs Debian packages"
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ -n "${TORCH_INDEX:-}" ]; then
    .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 --index-url "$TORCH_INDEX"
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
if [ "$extras" = 1 ]; then
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-extras.txt
fi
echo "setup.sh: ready (.venv/bin/python)"

#!/usr/bin/env bash
# The README's two commands:  bash tasks.sh demo   |   bash tasks.sh test
# Each sets everything up (a virtual environment in .venv with the project installed) and runs.
set -euo pipefail
cd "$(dirname "$0")"

pick_python() {
  for p in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$p" ] || continue
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$p"; return 0
    fi
  done
  echo "tasks.sh: error: Python 3.11 or newer is required" >&2; exit 2
}

setup() {  # setup EXTRAS: install the project (editable) when pyproject.toml or the extras changed
  local extras="$1" stamp=".venv/.installed-$1"
  if [ ! -x .venv/bin/python ]; then "$(pick_python)" -m venv .venv; fi
  local want; want="$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -e ".[${extras}]" >&2
    echo "$want" > "$stamp"
  fi
}

setup_peers() {  # peer tools compared against in the tests, each pinned, in their own environment
  local stamp=".venv-peers/.installed-pycanon-1.3.6"
  if [ ! -f "$stamp" ] || [ ! -x .venv-peers/bin/python ]; then
    "$(pick_python)" -m venv .venv-peers
    .venv-peers/bin/python -m pip install --quiet "pycanon==1.3.6" >&2
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)  shift; setup "dev"; exec .venv/bin/reidcheck demo "$@" ;;
  test)  shift; setup "${REIDCHECK_EXTRAS:-dev}"; setup_peers; exec .venv/bin/python -m pytest "$@" ;;
  bench) shift; setup "dev"; exec .venv/bin/python benchmarks/generate.py "$@" ;;
  *) echo "usage: bash tasks.sh demo|test|bench [args...]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# HCC Desk bootstrap: `./hccdesk.sh run [ARGS]` starts the app on its demo project,
# `./hccdesk.sh test [PYTEST ARGS]` runs the whole test suite headless, `./hccdesk.sh lint` the static checks
# (ruff, import contracts, mypy; docs/developer/rules.md).
# Each call creates .venv (Python >= 3.11) and installs the project into it when missing or stale.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="$here/.venv"
python="${PYTHON:-python3}"

qt_libs="libegl1 libgl1 libglx0 libglvnd0 libx11-6 libxcb1 libxkbcommon0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libpng16-16"
xcb_libs="libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libx11-xcb1"

ensure_system_packages() {
  # Qt's wheels need a few shared libraries from the distribution; install them when we are root.
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local wanted="$qt_libs" missing=""
  [ "${1:-}" = "gui" ] && wanted="$qt_libs $xcb_libs"
  for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "hccdesk: installing system libraries for Qt:$missing" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "hccdesk: Qt needs these system packages; please run: sudo apt-get install$missing" >&2
  fi
}

ensure_test_browser() {
  # The report test renders HTML in headless Chromium; install it when we are root, else that test skips.
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "hccdesk: installing chromium for the report test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "hccdesk: could not install chromium; the report rendering test will be skipped" >&2
  fi
}

tf_extra() {
  # The GPU build of TensorFlow when an NVIDIA driver is present, the CPU build otherwise.
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then echo gpu; else echo cpu; fi
}

ensure_venv() {
  local extras="$(tf_extra),dev"
  local stamp="$venv/.hccdesk-installed"
  local want
  want="$extras $(sha1sum pyproject.toml | cut -c1-12)"
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || { echo "hccdesk: Python >= 3.11 is required (set PYTHON=python3.11)" >&2; exit 2; }
    "$python" -m venv "$venv"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
}

cmd="${1:-run}"
shift || true
case "$cmd" in
  run)
    ensure_system_packages gui
    ensure_venv
    exec "$venv/bin/hccdesk" demo "$@"
    ;;
  test)
    ensure_system_packages
    ensure_test_browser
    ensure_venv
    export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  lint)
    ensure_venv
    status=0
    for check in "ruff check ." "ruff format --check ." "lint-imports" "mypy"; do
      echo "hccdesk lint: $check" >&2
      # shellcheck disable=SC2086  # each check is a command line to split into words
      "$venv/bin/"$check || status=1
    done
    exit "$status"
    ;;
  *)
    echo "usage: ./hccdesk.sh run [ARGS] | test [PYTEST ARGS] | lint" >&2
    exit 2
    ;;
esac

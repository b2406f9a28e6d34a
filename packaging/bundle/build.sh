#!/usr/bin/env bash
# Build the self-contained Linux bundle of HCC Desk (PyInstaller one-folder, CPU TensorFlow), smoke-test it by
# rendering the app's screenshots offscreen with the bundled executable, and report its size and start time.
#
#   packaging/bundle/build.sh            -> build/bundle/dist/hccdesk/hccdesk (+ hccdesk-<version>-linux-x86_64.tar.gz)
#
# The bundle is made of the committed tree (`git archive HEAD`, or the folder itself outside git), never of
# uncommitted edits. A fresh virtual environment (build/bundle/venv) holds exactly what the bundle ships: the
# project with its `cpu` extra (never the GPU build: a bundle must run on any x86-64 Linux) and PyInstaller.
# Slow: many minutes of pip and PyInstaller; not part of CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$root/build/bundle"
venv="$work/venv"
python="${PYTHON:-python3}"
src="$work/src"
rm -rf "$src"
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" archive --format=tar HEAD | tar -x -C "$src"
  echo "bundling commit $(git -C "$root" rev-parse --short HEAD)"
else
  cp -a "$root/." "$src/"
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$src[cpu]" "pyinstaller>=6.10" "pyinstaller-hooks-contrib>=2024.8"
"$venv/bin/python" -m pip install -q --no-deps --force-reinstall "$src"  # this commit, even at the same version

rm -rf "$work/dist" "$work/pyinstaller"
"$venv/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$work/dist" --workpath "$work/pyinstaller" "$src/packaging/bundle/hccdesk.spec"
app="$work/dist/hccdesk/hccdesk"

version="$("$app" --version | awk '{print $2}')"
tarball="$work/hccdesk-$version-linux-$(uname -m).tar.gz"
tar -C "$work/dist" -czf "$tarball" hccdesk

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
echo "== figures"
echo "bundle folder:       $(du -sh "$work/dist/hccdesk" | cut -f1)"
echo "tarball:             $(du -sh "$tarball" | cut -f1)"
for i in 1 2 3; do echo "start (--version) $i: $(seconds "$app" --version) s"; done
for i in 1 2 3; do echo "start (--help) $i:    $(seconds "$app" --help) s"; done
echo "load average:        $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== smoke test: the bundled app renders its screenshots offscreen (demo build, smoke CV, grading)"
smoke="$work/smoke"
rm -rf "$smoke"
start=$(date +%s.%N)
# A time limit, so that a bundle whose worker cannot start fails here instead of waiting forever.
timeout 1800 env -i HOME="$work/home" PATH=/usr/bin:/bin LC_ALL=C.UTF-8 QT_QPA_PLATFORM=offscreen \
  "$app" screenshot "$smoke"
end=$(date +%s.%N)
for png in main-window coronal cv-results cv-roc graded; do
  [ -s "$smoke/$png.png" ] || { echo "bundle smoke test: $png.png missing" >&2; exit 1; }
done
echo "screenshot run:      $(echo "$end - $start" | bc) s"
echo "bundle smoke test passed: $smoke"

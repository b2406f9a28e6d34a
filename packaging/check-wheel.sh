#!/usr/bin/env bash
# Build HCC Desk's wheel and check that it works as an installed app, away from the source tree:
# `hccdesk --version`, a synthetic DICOM study written and read back with `hccdesk inspect`, every module
# imported, the shipped models/, assets/ and desktop files found inside the install, and the wheel's declared
# dependencies satisfied.
#
#   packaging/check-wheel.sh          quick: dependencies come from the project's .venv (no download)
#   packaging/check-wheel.sh --full   the wheel and its dependencies installed from the package index
#
# Quick mode installs the wheel with --no-deps into a fresh virtual environment whose only other path is the
# project venv's site-packages, appended after its own (a plain path in a .pth file: the editable install's
# hook there is not run, so nothing of the checkout is importable). CI runs it (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project_python="${PYTHON:-$root/.venv/bin/python}"
mode="${1:-quick}"
work="$(mktemp -d "${TMPDIR:-/tmp}/hccdesk-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "check-wheel: building the wheel"
"$project_python" -m pip wheel -q --no-deps -w "$work/dist" "$root"
wheel="$(ls "$work"/dist/hccdesk-*.whl)"

"$project_python" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
case "$mode" in
  quick | "")
    site="$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$project_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/hccdesk-check-deps.pth"
    "$venv_python" -m pip install -q --no-deps "$wheel"
    ;;
  --full)
    "$venv_python" -m pip install -q --upgrade pip
    "$venv_python" -m pip install -q "$wheel[cpu]"
    ;;
  *)
    echo "usage: packaging/check-wheel.sh [--full]" >&2
    exit 2
    ;;
esac

cd "$work"  # nothing of the checkout on sys.path from here on
export QT_QPA_PLATFORM=offscreen XDG_DATA_HOME="$work/share" HCCDESK_HOME="$work/home" TF_CPP_MIN_LOG_LEVEL=2
hccdesk="$work/venv/bin/hccdesk"

version="$("$hccdesk" --version)"
expected="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml")"
[ "$version" = "hccdesk $expected" ] || { echo "check-wheel: --version says '$version', expected $expected" >&2; exit 1; }
echo "check-wheel: $version from $wheel"

"$hccdesk" phantom "$work/cohort" --lesions 2 --preset small --format dicom > /dev/null
"$hccdesk" inspect "$work/cohort/dicom/PH0001" --json > "$work/inspect.json"

"$hccdesk" desktop-install > /dev/null

"$venv_python" - "$work" "$root" <<'EOF'
"""Everything resolves inside the install, every module imports, the dependencies are met."""
import importlib
import importlib.metadata
import json
import pkgutil
import sys
from pathlib import Path

from packaging.requirements import Requirement

work = Path(sys.argv[1]).resolve()
shipped = sorted(path.name for path in (Path(sys.argv[2]) / "models").glob("*.json"))
install = work / "venv"

import hccdesk
from hccdesk.package_data import package_data_dir

assert Path(hccdesk.__file__).resolve().is_relative_to(install), f"hccdesk imported from {hccdesk.__file__}"
for name in ("models", "assets", "linux"):
    folder = package_data_dir(name).resolve()
    assert folder.is_relative_to(install) and any(folder.iterdir()), f"{name}: {folder}"
installed = sorted(path.name for path in package_data_dir("models").glob("*.json"))
assert installed == shipped, f"variant configs: {installed} installed, {shipped} in the checkout"

phases = sorted(volume["phase"] for volume in json.loads((work / "inspect.json").read_text())["volumes"])
assert phases == ["arterial", "delayed", "portal", "pre"], phases
assert (work / "share/applications/hccdesk.desktop").is_file()

modules = [info.name for info in pkgutil.walk_packages(hccdesk.__path__, "hccdesk.")]
for name in modules:
    importlib.import_module(name)

unmet = []
for text in importlib.metadata.requires("hccdesk") or []:
    requirement = Requirement(text)
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        continue
    try:
        installed = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        unmet.append(f"{requirement} (missing)")
        continue
    if not requirement.specifier.contains(installed, prereleases=True):
        unmet.append(f"{requirement} (have {installed})")
assert not unmet, f"dependencies not met: {unmet}"
print(f"check-wheel: {len(modules)} modules import; models, assets and desktop files inside {install}")
EOF
echo "check-wheel: passed"

#!/usr/bin/env bash
# Creates .venv/cpython3.12 and .venv/cpython3.13 for "should I just upgrade CPython?": the
# baseline app with the same pins as CPython 3.11 (baseline/requirements.txt) and the same .pth.
# An interpreter that is not installed is skipped with a note: its rows are then left out of
# make bench-article. Looks for python3.X on PATH, then in pyenv's versions.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
requirements="$root/baseline/requirements.txt"
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

find_python() {  # find_python 3.12: a working interpreter of that version, or nothing
  local version=$1 candidate
  for candidate in "python$version" "$pyenv_root"/versions/"$version".*/bin/"python$version"; do
    if "$candidate" -c 'import sys, venv' >/dev/null 2>&1; then
      command -v "$candidate" || echo "$candidate"
      return
    fi
  done
}

for version in 3.12 3.13; do
  venv="$root/.venv/cpython$version"
  python=$(find_python "$version")
  if [[ -z $python ]]; then
    echo "CPython $version is not installed: its rows are skipped (install it, e.g. with pyenv install $version, then run make other-cpythons)"
    continue
  fi
  if [[ -f $venv/.installed && $venv/.installed -nt $requirements ]]; then
    continue
  fi
  echo "Creating the CPython $version environment in .venv/cpython$version from $python"
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  "$venv/bin/python" -c 'import pathlib, sys, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "fastapi_hot_paths.pth").write_text("".join(p + "\n" for p in sys.argv[1:]))' \
    "$root" "$root/baseline"
  touch "$venv/.installed"
done

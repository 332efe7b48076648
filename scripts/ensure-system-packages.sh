#!/usr/bin/env bash
# Makes sure the system tools the tutorial needs are present: PyPy (with venv and headers), wrk,
# a C compiler, CPython's venv module and headers, and a compose CLI. Installs the missing Debian
# packages when run as root; otherwise prints the exact command and fails. Fast when nothing is
# missing.
set -euo pipefail

python=${PYTHON:-python3}
missing=()

need_deb() {  # need_deb PACKAGE: the Debian package must be installed
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$1")
}

for package in pypy3 pypy3-venv pypy3-dev wrk; do need_deb "$package"; done
# A compose CLI validates pypy-deployment/docker-compose.yml against the compose schema without a
# Docker engine (tests/test_docker.py runs `config` with it). Docker's own plugin will do; else
# Debian's docker-compose (v1), which needs no engine for `config` either.
docker compose version >/dev/null 2>&1 || need_deb docker-compose
command -v gcc >/dev/null || missing+=(gcc)
command -v "$python" >/dev/null || missing+=(python3)
if command -v "$python" >/dev/null; then
  "$python" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  "$python" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing+=(python3-dev)
fi

[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} and this is not a Debian-like system; install them with your package manager." >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "run:   sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

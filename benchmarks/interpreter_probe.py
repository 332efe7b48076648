"""What an interpreter says about itself, as one JSON line: `python -m benchmarks.interpreter_probe
PACKAGE...` prints {"runtime", "packages": {name: version}} (packages not installed are left out).
Run by benchmarks/environment.py under each interpreter (so Python 3.9 syntax, and no psutil)."""

from __future__ import annotations

import json
import sys
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version

from baseline.runtime import runtime_description


def installed_versions(names: list[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        with suppress(PackageNotFoundError):  # not installed here: left out
            versions[name] = version(name)
    return versions


if __name__ == "__main__":
    packages = installed_versions(sys.argv[1:])
    print(json.dumps({"runtime": runtime_description(), "packages": packages}))

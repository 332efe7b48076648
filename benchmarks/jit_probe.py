"""Which JIT loop threshold the running PyPy applies, as one JSON line:

    .venv/pypy/bin/python [--jit ...] -m benchmarks.jit_probe

prints {"first_loop_compiled_at": I, "defaults": {...}}: I is the iteration of a plain counting
loop during which PyPy compiled its first loop (about the `threshold` in effect; null when nothing
was compiled, as with `--jit off`), and "defaults" is pypyjit.defaults, the parameters PyPy was
built with. pypyjit can set a parameter (set_param) but has no call that reads one back, and
`--jit` does not change pypyjit.defaults, so compiling a loop and watching when it happens is how
a process tells which threshold it runs with. benchmarks/jit_tips.py runs it with each setting's
flags and environment. Runs under PyPy only (Python 3.9 syntax, no third-party packages).
"""

from __future__ import annotations

import json

import pypyjit  # PyPy's own module: https://doc.pypy.org/en/latest/jit-hooks.html

ITERATIONS = 20_000  # far above the default threshold (1039), so a working JIT always compiles

_state: dict = {"iteration": 0, "first_compile": None}


def _on_compile(_info: object) -> None:
    if _state["first_compile"] is None:
        _state["first_compile"] = _state["iteration"]


def count_up() -> None:
    """The loop PyPy traces once it has run `threshold` times."""
    i = 0
    while i < ITERATIONS:
        _state["iteration"] = i
        i += 1


def probe() -> dict:
    pypyjit.set_compile_hook(_on_compile)
    count_up()
    pypyjit.set_compile_hook(None)
    return {"first_loop_compiled_at": _state["first_compile"], "defaults": dict(pypyjit.defaults)}


if __name__ == "__main__":
    print(json.dumps(probe()))

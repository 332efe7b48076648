"""A deliberately wrong server for the harness's verification test: fib(10) is off by one."""

from baseline.baseline_app import create_app, fib_recursive

app = create_app(lambda n: fib_recursive(n) + (n == 10), implementation="python-wrong")

"""The tutorial's app: the contract (baseline_app.py), its settings and its cost model."""

"""The benchmark harness: start each variant, verify it, load it, record and render the results."""

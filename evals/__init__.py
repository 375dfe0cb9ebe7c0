"""Held-out evaluations: suites of scenarios, the `storyloom eval` runner and its scoring."""

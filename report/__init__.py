"""Corpus statistics for a run directory or any corpus JSONL (`storyloom stats`).

Public interface: `source.open_input(path, kind)` ->
`compute.compute_stats(input, StatsOptions())` -> a `model.StatsReport`, rendered by
`terminal.render_terminal`, `output.write_json` and `output.write_html`. Records are read
as their corpus kind's `ReportProfile` says, and the kind's own figures are added.
"""

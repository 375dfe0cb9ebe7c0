"""A run as a dataset: shards merged into one run directory, exported as Parquet or JSONL
with a dataset card, and one item's journey read back from the checkpoints.

Everything here only reads run directories (SQLite opened read-only, JSONL taken whole
line by whole line), so it works on runs still being written and never touches them.
"""

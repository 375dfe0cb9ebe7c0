"""Near-duplicate detection: shingles, MinHash signatures, LSH, verified matches.

Start with `NearDuplicateIndex` (check-and-insert for the workflow) or
`storyloom.dedupe.stream.dedupe_jsonl` (a whole JSONL corpus); see README.md here.
"""

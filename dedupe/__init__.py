"""Near-duplicate detection: shingles, MinHash signatures, LSH, verified matches."""

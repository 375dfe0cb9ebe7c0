"""Corpus kinds: the kind interface (`storyloom.stories.kind`), the registry, the inputs,
draws, gates and judging every kind shares, and one folder per kind (`story`,
`documents`, `advice`, `augment`). Importing this package loads nothing heavy: spaCy
and a kind's own modules load only when a kind is used.
"""

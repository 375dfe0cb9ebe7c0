"""The `documents` kind: pretraining-style documents about the constitution and the AI's
character (encyclopedia entries, forum threads, lecture notes, ...), each built around one
claim of a claims file, so a model learns what it values and why in the format it learns
facts from."""

"""Primitives every package shares: durable file writes, the JSON-lines reader and its
policy for damaged lines, the typed records of a run, the run's file names, `words()`, and
the two shapes of tool definitions.

Nothing here knows about corpus kinds, backends or the workflow, so any package may import it.
"""

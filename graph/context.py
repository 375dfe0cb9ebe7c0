"""The runtime context handed to every node: dependencies, never checkpointed.

Backends, open files and indexes cannot (and must not) be serialised into a checkpoint,
and the API key must never reach one; LangGraph passes this object beside the state.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyloom.backends.base import Backend, Completion, CompletionRequest
from storyloom.dedupe.index import NearDuplicateIndex
from storyloom.graph.ledger import UsageLedger
from storyloom.graph.settings import GenerationSettings
from storyloom.graph.sinks import RunSinks
from storyloom.stories.inputs import StoryInputs


@dataclass
class StoryContext:
    run_name: str
    inputs: StoryInputs
    settings: GenerationSettings
    backend: Backend
    sinks: RunSinks
    story_index: NearDuplicateIndex
    premise_index: NearDuplicateIndex
    ledger: UsageLedger

    async def complete(self, story_id: str, request: CompletionRequest) -> Completion:
        """Call the backend and book the usage against the story and node."""
        completion = await self.backend.complete(request)
        self.ledger.record(story_id=story_id, node=request.purpose, completion=completion)
        return completion

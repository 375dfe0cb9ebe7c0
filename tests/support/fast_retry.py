"""A retry policy for tests: same exceptions as production, near-zero waits."""

from langgraph.types import RetryPolicy

from storyloom.backends.base import TransientBackendError

FAST_RETRY = RetryPolicy(
    initial_interval=0.01, max_interval=0.05, max_attempts=3, retry_on=TransientBackendError
)

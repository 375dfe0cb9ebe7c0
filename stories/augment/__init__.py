"""The augment kind: a user's harmlessness chats wrapped, unchanged, in tool definitions and
operator system prompts, so safe behaviour is trained in the shape it is deployed in."""

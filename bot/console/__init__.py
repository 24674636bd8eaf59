"""The terminal channel: the same conversation, for trying it and for demos."""

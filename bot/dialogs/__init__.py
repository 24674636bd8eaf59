"""The conversation's steps and texts, shared by every channel."""

"""Komunalka's core: the domain, the conversation engine and the ports storage implements.

Nothing here imports a messenger SDK, an HTTP library, SQLAlchemy or a scheduler.
"""

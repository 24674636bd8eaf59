"""Storage: SQLAlchemy 2 async implementations of the core's ports, for SQLite and PostgreSQL."""

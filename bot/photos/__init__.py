"""A resident's photos of their meters: fetched, kept, purged, and read when recognition is installed."""

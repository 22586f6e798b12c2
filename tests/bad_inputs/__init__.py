"""The bad-input corpus for ingest (see corpus.py)."""

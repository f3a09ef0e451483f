"""Storage: the backend interface and its memory and SQLite backends."""

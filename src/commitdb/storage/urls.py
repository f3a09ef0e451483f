"""Telling a database URL from a file path, without loading any database driver: opening a
``.cdb`` file must not import the PostgreSQL backend."""

from __future__ import annotations

from typing import Any

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(path: Any) -> bool:
    """Whether ``path`` names a PostgreSQL database rather than a file."""
    return isinstance(path, str) and path.startswith(URL_SCHEMES)


def redacted_url(url: Any) -> Any:
    """A postgresql:// URL without its password (for messages and reprs); anything else as is."""
    if not is_postgres_url(url):
        return url
    scheme, sep, rest = url.partition("://")
    auth, at, host = rest.rpartition("@")
    if not at or ":" not in auth:
        return url
    return f"{scheme}{sep}{auth.split(':', 1)[0]}:***@{host}"

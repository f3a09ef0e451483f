"""Who may talk to a server and how: tokens with roles, the loopback rule, TLS contexts.

A token file holds one token per line::

    # role   token                               name (optional, used in logs)
    admin    3f1c0e...                           ops
    write    9a77d2...                           editor
    read     c0ffee...

Blank lines and lines starting with ``#`` are ignored. A connection proves one token in its
handshake (compared in constant time) and gets that token's role for its whole life:

- ``read``: every read, ``poll``, ``watch``, ``stats``;
- ``write``: also commits, blobs and transactions;
- ``admin``: also removing commits (``remove_commit``, ``remove_all_but_first``) and extending
  the definitions. Any connection may send definitions the server already holds (a no-op, as
  every client does when it opens a model).

Without a token file every connection is ``admin``; the server then listens only on loopback
addresses and unix sockets unless told ``insecure``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any

from commitdb.errors import AuthenticationError, PermissionDeniedError, ValidationError

READ, WRITE, ADMIN = "read", "write", "admin"
ROLES = (READ, WRITE, ADMIN)
_RANK = {READ: 0, WRITE: 1, ADMIN: 2}
TOKEN_ENV = "COMMITDB_TOKEN"

# The least role each request needs; anything not listed needs READ.
_NEEDS_WRITE = frozenset({
    "insert_commit", "insert_commits", "insert_blob", "insert_blobs", "blob_upload_chunk",
    "begin_transaction", "commit", "rollback",
})
_NEEDS_ADMIN = frozenset({"remove_commit", "remove_all_but_first", "verify_file"})  # verify reads the whole file
DESTRUCTIVE = frozenset({"remove_commit", "remove_all_but_first", "extend_definitions"})


@dataclass(frozen=True)
class Identity:
    """What a connection proved: the token's name (never the token itself) and its role."""

    name: str
    role: str

    def allows(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]


ANONYMOUS_ADMIN = Identity("anonymous", ADMIN)


def required_role(method: str) -> str:
    """The least role that may call ``method`` (``extend_definitions`` is checked by the
    server itself: anyone may send definitions that change nothing, only admin others)."""
    if method in _NEEDS_ADMIN:
        return ADMIN
    if method in _NEEDS_WRITE:
        return WRITE
    return READ


def check_allowed(identity: Identity, method: str) -> None:
    role = required_role(method)
    if not identity.allows(role):
        raise PermissionDeniedError(f"{method} needs a {role} token; this connection has a {identity.role} token")


class TokenTable:
    """The tokens a server accepts. ``identify`` compares a presented token with every known
    one in constant time (no early exit, no timing that depends on where they differ)."""

    def __init__(self, entries: list[tuple[str, str, str]]) -> None:
        """``entries``: (token, role, name)."""
        if not entries:
            raise ValidationError("a token table needs at least one token")
        for token, role, _ in entries:
            if role not in ROLES:
                raise ValidationError(f"unknown role {role!r} (use read, write or admin)")
            if len(token) < 16:
                raise ValidationError("a token must have at least 16 characters")
        # Digests of equal length: comparing them tells nothing about a token's length either.
        self._entries = [(_digest(token), role, name) for token, role, name in entries]

    @staticmethod
    def load(path: str) -> TokenTable:
        """Read a token file (see the module docstring). ValidationError naming the line when
        one is malformed; OSError when the file cannot be read."""
        entries = []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                words = line.split()
                if not words or words[0].startswith("#"):
                    continue
                if len(words) not in (2, 3):
                    raise ValidationError(f"{path}:{number}: expected 'role token [name]'")
                role, token = words[0], words[1]
                name = words[2] if len(words) == 3 else f"{role}@{number}"
                try:
                    entries.append((token, role, name))
                    TokenTable([entries[-1]])
                except ValidationError as e:
                    raise ValidationError(f"{path}:{number}: {e}") from None
        if not entries:
            raise ValidationError(f"{path}: no token")
        return TokenTable(entries)

    def identify(self, presented: Any) -> Identity:
        """The identity of ``presented``; AuthenticationError when it is missing or unknown."""
        if not isinstance(presented, str) or not presented:
            raise AuthenticationError("this server requires a token (give token=... or set COMMITDB_TOKEN)")
        given = _digest(presented)
        found: Identity | None = None
        for token, role, name in self._entries:  # every entry is compared: constant time
            if hmac.compare_digest(token, given) and found is None:
                found = Identity(name, role)
        if found is None:
            raise AuthenticationError("the token was refused")
        return found

    def __len__(self) -> int:
        return len(self._entries)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_from_environment(explicit: str | None = None, token_file: str | None = None) -> str | None:
    """The token a client tool presents: ``explicit``, else the first token of ``token_file``
    (a one-line file holding the token, or a server token file), else $COMMITDB_TOKEN."""
    if explicit:
        return explicit
    if token_file:
        with open(token_file, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if words and not words[0].startswith("#"):
                    return words[1] if len(words) >= 2 and words[0] in ROLES else words[0]
        raise ValidationError(f"{token_file}: no token")
    return os.environ.get(TOKEN_ENV) or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` only ever resolves to loopback addresses (localhost, 127.x, ::1)."""
    if host == "localhost":
        return True
    if not host:
        return False  # every interface
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_exposure(host: str | None, tokens: TokenTable | None, insecure: bool) -> None:
    """ValidationError when a server without tokens would listen on a TCP address other than
    loopback (anyone on the network could read, write and reset), unless told ``insecure``."""
    if host is not None and tokens is None and not insecure and not is_loopback(host):
        raise ValidationError(
            f"refusing to serve {host} without a token file: anyone on the network could read, write "
            f"and reset the database (give --token-file, listen on a loopback address or a unix socket, "
            f"or say --insecure)")


# --- TLS -------------------------------------------------------------------------------------


def server_tls_context(cert: str, key: str | None = None) -> Any:
    """An ``ssl.SSLContext`` for a server from a PEM certificate (chain) and its key."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def client_tls_context(tls: Any, ca_file: str | None = None) -> Any:
    """The client's ``ssl.SSLContext``: ``tls`` may be one already (used as is), or true (the
    system's trusted authorities, or ``ca_file`` when given). None when ``tls`` is false and
    no ``ca_file`` is given."""
    import ssl

    if isinstance(tls, ssl.SSLContext):
        return tls
    if not tls and ca_file is None:
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context

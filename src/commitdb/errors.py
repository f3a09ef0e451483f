"""The whole exception hierarchy of commitdb.

Every error raised by the library derives from :class:`CommitDBError`. Each class carries a
stable ``code`` string: the network protocol sends it so that a client re-raises the same
class, and the command line maps classes to exit codes. Messages name the offending value.
"""

from __future__ import annotations


class CommitDBError(Exception):
    """Root of every commitdb error."""

    code = "CommitDBError"

    def __str__(self) -> str:
        # KeyError subclasses would otherwise quote the message.
        return str(self.args[0]) if self.args else self.__class__.__name__


# --- schema --------------------------------------------------------------------------------


class DefinitionsError(CommitDBError):
    """A model or a set of definitions is inconsistent."""

    code = "DefinitionsError"


class DefinitionsConflictError(DefinitionsError):
    """Extending definitions with a same-named type of a different runtime id."""

    code = "DefinitionsConflictError"


class DSMError(DefinitionsError):
    """A DSM source could not be read (the parse report carries the details)."""

    code = "DSMError"


class DSMSourceError(DSMError, OSError):
    """A DSM file or folder could not be read (also an OSError, as for any unreadable file)."""

    code = "DSMSourceError"


class DSMSourceNotFoundError(DSMSourceError, FileNotFoundError):
    """No DSM file or folder at the given path."""

    code = "DSMSourceNotFoundError"


# --- validation ----------------------------------------------------------------------------


class ValidationError(CommitDBError, ValueError):
    """A value, key, path or argument does not fit what it is used for."""

    code = "ValidationError"


class TypeMismatchError(ValidationError):
    """A value of the wrong kind (a str where an int is expected, ...)."""

    code = "TypeMismatchError"


class UntypedValueError(TypeMismatchError, TypeError):
    """A plain Python value where a typed Value is needed — an update through a variant or any
    unwrap, whose held type only the value can tell (also a TypeError)."""

    code = "UntypedValueError"


class DocumentTypeError(TypeMismatchError, TypeError):
    """A call that needs another kind of document type (``create_structure`` on an attachment
    whose documents are not structures); also a TypeError."""

    code = "DocumentTypeError"


class RangeError(ValidationError):
    """A number outside the range of its type."""

    code = "RangeError"


class UnknownEnumCaseError(ValidationError):
    """An enumeration case that the enumeration does not declare."""

    code = "UnknownEnumCaseError"


class KeyTypeError(ValidationError):
    """A key of another concept than the one expected."""

    code = "KeyTypeError"


class PathError(ValidationError):
    """A path that does not resolve against a type, or is irregular for the operation."""

    code = "PathError"


class UnknownFieldError(ValidationError, AttributeError):
    """A structure has no field of that name (also an AttributeError, so ``getattr`` and
    ``hasattr`` on a structure keep their Python meaning)."""

    code = "UnknownFieldError"


class UnknownAttachmentError(ValidationError):
    """An attachment the database has not registered."""

    code = "UnknownAttachmentError"


class OperationError(ValidationError):
    """A verb used on the wrong container (union_in_set on a map, ...)."""

    code = "OperationError"


# --- lookups -------------------------------------------------------------------------------


class NotFoundError(CommitDBError, KeyError):
    """Something looked up by id or name does not exist."""

    code = "NotFoundError"


class CommitNotFoundError(NotFoundError):
    """A commit id that the database does not hold."""

    code = "CommitNotFoundError"


class BlobNotFoundError(NotFoundError):
    """A blob id that the database does not hold."""

    code = "BlobNotFoundError"


# --- integrity -----------------------------------------------------------------------------


class IntegrityError(CommitDBError):
    """Stored or received data contradicts its content address or its references."""

    code = "IntegrityError"


class CorruptedDataError(IntegrityError):
    """Bytes that do not decode, or a commit whose id does not re-hash."""

    code = "CorruptedDataError"


class MissingBlobError(IntegrityError):
    """A document references a blob that is not in the database."""

    code = "MissingBlobError"


# --- DAG operations ------------------------------------------------------------------------


class CommitError(CommitDBError):
    """An operation on the DAG that its current shape does not allow."""

    code = "CommitError"


class NotAHeadError(CommitError):
    """An operation that requires a head was given another commit."""

    code = "NotAHeadError"


class NotMergeableError(CommitError):
    """A merge of two commits where one is the ancestor of the other."""

    code = "NotMergeableError"


# --- storage -------------------------------------------------------------------------------


class StorageError(CommitDBError):
    """The storage backend failed."""

    code = "StorageError"


class DatabaseBusyError(StorageError):
    """Another process held the database for longer than the wait allows."""

    code = "DatabaseBusyError"


class ReadOnlyError(StorageError):
    """A write on a database opened read-only."""

    code = "ReadOnlyError"


class DatabaseClosedError(StorageError):
    """A call on a closed database."""

    code = "DatabaseClosedError"


class IncompatibleDatabaseError(StorageError):
    """A file that is not a commit database, or of an unsupported version."""

    code = "IncompatibleDatabaseError"


class DatabaseExistsError(StorageError):
    """Creating a database where something already exists."""

    code = "DatabaseExistsError"


# --- network -------------------------------------------------------------------------------


class ProtocolError(CommitDBError):
    """A malformed, oversized or unexpected message."""

    code = "ProtocolError"


class FrameTooLargeError(ProtocolError):
    """A frame whose announced length exceeds the configured maximum."""

    code = "FrameTooLargeError"


class VersionMismatchError(ProtocolError):
    """A peer speaking another protocol (wrong magic or version)."""

    code = "VersionMismatchError"


class ConnectionFailedError(ProtocolError):
    """The server could not be reached, or went away."""

    code = "ConnectionFailedError"


class ListenError(CommitDBError):
    """A server could not listen on its address: the port is in use or not permitted, or the
    socket path is taken."""

    code = "ListenError"


class AuthenticationError(ProtocolError):
    """A connection without a valid token, where the server requires one."""

    code = "AuthenticationError"


class PermissionDeniedError(CommitDBError):
    """A request the connection's role does not allow (a read token writing, a write token
    resetting...)."""

    code = "PermissionDeniedError"


class LimitExceededError(CommitDBError):
    """A server limit was reached (connections, buffered bytes, request size...); the message
    names the limit."""

    code = "LimitExceededError"


class TransactionTimeoutError(StorageError):
    """The server rolled back a transaction left idle longer than its idle-in-transaction
    timeout (and released the write lock for the others)."""

    code = "TransactionTimeoutError"


class RemoteError(ProtocolError):
    """An error raised on the server whose class the client does not know."""

    code = "RemoteError"


def error_classes() -> dict[str, type[CommitDBError]]:
    """Map every stable error code to its class (used to re-raise remote errors)."""
    found: dict[str, type[CommitDBError]] = {}
    pending: list[type[CommitDBError]] = [CommitDBError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found

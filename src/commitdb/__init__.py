"""commitdb: a pure-Python commit database.

Typed documents whose every change is an immutable, content-addressed commit of path-level
mutations in a DAG; time travel; undo/redo; deterministic reduction of concurrent heads.
Everything of the public API is importable from this package (``from commitdb import *``).
"""

from commitdb.blobs import BlobInfo, BlobLayout, BlobStatistics, BlobStream
from commitdb.codec_instancing import StreamCodecInstancing
from commitdb.database import Commit, CommitDatabase, DefinitionsExtension
from commitdb.dsm import (
    Attachment,
    Definitions,
    DefinitionsConst,
    DSMBuilder,
    DSMDefinitions,
    DSMParseError,
    DSMParseReport,
)
from commitdb.engine.dag import Dag
from commitdb.engine.helpers import CommitDatabaseHelper, CommitStateBuilder
from commitdb.engine.mutable import AttachmentMutating, CommitMutableState
from commitdb.engine.node import CommitNode
from commitdb.engine.program import OPCODE_NAMES, CommitOpcode, CommitProgram
from commitdb.engine.state import AttachmentGetting, CommitState, EvalAction
from commitdb.errors import (
    BlobNotFoundError,
    CommitDBError,
    CommitError,
    CommitNotFoundError,
    ConnectionFailedError,
    CorruptedDataError,
    DatabaseBusyError,
    DatabaseClosedError,
    DatabaseExistsError,
    DefinitionsConflictError,
    DefinitionsError,
    DSMError,
    DSMSourceError,
    DSMSourceNotFoundError,
    FrameTooLargeError,
    IncompatibleDatabaseError,
    IntegrityError,
    KeyTypeError,
    MissingBlobError,
    NotAHeadError,
    NotFoundError,
    NotMergeableError,
    OperationError,
    PathError,
    ProtocolError,
    RangeError,
    ReadOnlyError,
    RemoteError,
    StorageError,
    TypeMismatchError,
    UnknownAttachmentError,
    UnknownEnumCaseError,
    UnknownFieldError,
    ValidationError,
    VersionMismatchError,
)
from commitdb.flatten import CommitDatabaseFlattener
from commitdb.net.server import CommitDatabaseServer
from commitdb.storage.base import BlobRecord, CommitData, CommitDatabasing, CommitHeader
from commitdb.storage.memory import MemoryBackend
from commitdb.store import CommitStore, CommitStoreNotifying
from commitdb.sync import CommitSynchronizer, CommitSynchronizerInfo, CommitSynchronizerInfoTransmit
from commitdb.values import *  # noqa: F403 - the value system is part of the public API
from commitdb.values import __all__ as _value_names
from commitdb.values.path import Path, PathComponent, PathConst

__version__ = "0.1.0"

__all__ = [
    *_value_names,
    "Attachment", "AttachmentGetting", "AttachmentMutating", "BlobInfo", "BlobLayout", "BlobNotFoundError",
    "BlobRecord", "BlobStatistics", "BlobStream", "Commit", "CommitDBError", "CommitData", "CommitDatabase",
    "CommitDatabaseFlattener", "CommitDatabaseHelper", "CommitDatabaseServer", "CommitDatabasing",
    "CommitSynchronizer", "CommitSynchronizerInfo", "CommitSynchronizerInfoTransmit", "CommitError",
    "CommitHeader", "CommitMutableState",
    "CommitNode", "CommitNotFoundError", "CommitOpcode", "CommitProgram", "CommitState", "CommitStateBuilder",
    "CommitStore", "CommitStoreNotifying", "ConnectionFailedError", "CorruptedDataError", "DSMBuilder",
    "DSMDefinitions", "DSMError", "DSMParseError", "DSMParseReport", "Dag", "DatabaseBusyError",
    "DatabaseClosedError", "DatabaseExistsError", "Definitions", "DefinitionsConflictError",
    "DefinitionsConst", "DefinitionsError", "DefinitionsExtension", "EvalAction", "FrameTooLargeError",
    "IncompatibleDatabaseError", "IntegrityError", "KeyTypeError", "MemoryBackend", "MissingBlobError",
    "NotAHeadError", "NotFoundError", "NotMergeableError", "OPCODE_NAMES", "OperationError", "Path",
    "PathComponent", "PathConst", "PathError", "ProtocolError", "RangeError", "ReadOnlyError", "RemoteError",
    "StorageError", "StreamCodecInstancing", "TypeMismatchError", "UnknownAttachmentError", "UnknownFieldError",
    "DSMSourceError", "DSMSourceNotFoundError",
    "UnknownEnumCaseError", "ValidationError", "VersionMismatchError",
]


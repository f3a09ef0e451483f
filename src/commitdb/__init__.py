"""commitdb: a pure-Python commit database.

Typed documents whose every change is an immutable, content-addressed commit of path-level
mutations in a DAG; time travel; undo/redo; deterministic reduction of concurrent heads.
Everything of the public API is importable from this package (``from commitdb import *``).

Names are loaded on first use (PEP 562): ``import commitdb`` costs almost nothing, and a
program pays only for the parts it uses (the DSM parser, the server, sync...).
"""

from __future__ import annotations

from commitdb.lazy_names import lazy_attributes

__version__ = "0.1.0"

# module -> the public names it provides
_MODULES: dict[str, tuple[str, ...]] = {
    "commitdb.blobs": (
        "BlobGetting", "BlobInfo", "BlobLayout", "BlobReader", "BlobStatistics", "BlobStream",
    ),
    "commitdb.codec_instancing": (
        "StreamCodecInstancing",
    ),
    "commitdb.database": (
        "Commit", "CommitDatabase", "DefinitionsExtension",
    ),
    "commitdb.dsm": (
        "Attachment", "Definitions", "DefinitionsConst", "DSMBuilder", "DSMDefinitions", "DSMParseError",
        "DSMParseReport",
    ),
    "commitdb.engine.dag": (
        "Dag",
    ),
    "commitdb.engine.helpers": (
        "CommitDatabaseHelper", "CommitStateBuilder",
    ),
    "commitdb.engine.merge_report": (
        "DocumentMergeReport", "MergeReport", "MergeReportEntry",
    ),
    "commitdb.engine.mutable": (
        "AttachmentMutating", "CommitMutableState",
    ),
    "commitdb.engine.node": (
        "CommitNode",
    ),
    "commitdb.engine.program": (
        "OPCODE_NAMES", "CommitOpcode", "CommitOpcodeDocumentSet", "CommitOpcodeDocumentUpdate", "CommitOpcodeKey",
        "CommitOpcodeMapSubtract", "CommitOpcodeMapUnion", "CommitOpcodeMapUpdate", "CommitOpcodeSetSubtract",
        "CommitOpcodeSetUnion", "CommitOpcodeXArrayInsert", "CommitOpcodeXArrayRemove", "CommitOpcodeXArrayUpdate",
        "CommitProgram",
    ),
    "commitdb.engine.state": (
        "AttachmentGetting", "CommitState", "EvalAction",
    ),
    "commitdb.errors": (
        "BlobNotFoundError", "CommitDBError", "CommitError", "CommitNotFoundError", "ConnectionFailedError",
        "CorruptedDataError", "DatabaseBusyError", "DatabaseClosedError", "DatabaseExistsError",
        "DefinitionsConflictError", "DefinitionsError", "DocumentTypeError", "DSMError", "DSMSourceError",
        "DSMSourceNotFoundError",
        "FrameTooLargeError", "IncompatibleDatabaseError", "IntegrityError", "KeyTypeError", "ListenError",
        "MissingBlobError",
        "NotAHeadError", "NotFoundError", "NotMergeableError", "OperationError", "PathError", "ProtocolError",
        "RangeError", "ReadOnlyError", "RemoteError", "StorageError", "TypeMismatchError", "UnknownAttachmentError",
        "UnknownEnumCaseError", "UnknownFieldError", "UntypedValueError", "ValidationError", "VersionMismatchError",
        "AuthenticationError", "LimitExceededError", "PermissionDeniedError", "TransactionTimeoutError",
    ),
    "commitdb.flatten": (
        "CommitDatabaseFlattener",
    ),
    "commitdb.net.server": (
        "CommitDatabaseServer",
    ),
    "commitdb.storage.base": (
        "BlobRecord", "CommitData", "CommitDatabasing", "CommitHeader",
    ),
    "commitdb.storage.memory": (
        "MemoryBackend",
    ),
    "commitdb.store": (
        "CommitStore", "CommitStoreNotifying",
    ),
    "commitdb.sync": (
        "CommitSynchronizer", "CommitSynchronizerInfo", "CommitSynchronizerInfoTransmit",
    ),
    "commitdb.values.path": (
        "Path", "PathComponent", "PathConst",
    ),
    "commitdb.values": (
        "NameSpace", "Type", "TypeAny", "TypeAnyConcept", "TypeBlob", "TypeBlobId", "TypeBool", "TypeClub",
        "TypeCommitId", "TypeConcept", "TypeDouble", "TypeEnumeration", "TypeEnumerationCase",
        "TypeEnumerationDescriptor", "TypeFloat", "TypeInt16", "TypeInt32", "TypeInt64", "TypeInt8", "TypeKey",
        "TypeMap", "TypeMat", "TypeOptional", "TypeSet", "TypeString", "TypeStructure", "TypeStructureDescriptor",
        "TypeStructureField", "TypeTuple", "TypeUInt16", "TypeUInt32", "TypeUInt64", "TypeUInt8", "TypeUUId",
        "TypeVariant", "TypeVec", "TypeVector", "TypeVoid", "TypeXArray", "Value", "ValueAny", "ValueBlob",
        "ValueBlobId", "ValueBool", "ValueCommitId", "ValueDouble", "ValueEnumeration", "ValueFloat", "ValueInt16",
        "ValueInt32", "ValueInt64", "ValueInt8", "ValueKey", "ValueMap", "ValueMat", "ValueOptional", "ValueSet",
        "ValueString", "ValueStructure", "ValueTuple", "ValueUInt16", "ValueUInt32", "ValueUInt64", "ValueUInt8",
        "ValueUUId", "ValueVariant", "ValueVec", "ValueVector", "ValueVoid", "ValueXArray",
    ),
}
__all__, __getattr__ = lazy_attributes("commitdb", globals(), _MODULES)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

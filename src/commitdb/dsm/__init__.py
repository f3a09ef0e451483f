"""The DSM language: model sources → Definitions (SPEC.md §2)."""

from commitdb.dsm.builder import DSMBuilder, DSMBuilderPart
from commitdb.dsm.definitions import Attachment, Definitions, DefinitionsConst
from commitdb.dsm.dsm_definitions import DSMDefinitions, DSMFunction, DSMFunctionPool, DSMMembership
from commitdb.dsm.report import DSMParseError, DSMParseReport

__all__ = [
    "Attachment",
    "DSMBuilder",
    "DSMBuilderPart",
    "DSMDefinitions",
    "DSMFunction",
    "DSMFunctionPool",
    "DSMMembership",
    "DSMParseError",
    "DSMParseReport",
    "Definitions",
    "DefinitionsConst",
]

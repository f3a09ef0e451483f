"""The DSM language: model sources → Definitions.

Names load on first use, so reading a database (which needs ``Definitions``) never loads the
parser and its grammar library.
"""

from __future__ import annotations

from commitdb.lazy_names import lazy_attributes

_MODULES: dict[str, tuple[str, ...]] = {
    "commitdb.dsm.builder": ("DSMBuilder", "DSMBuilderPart"),
    "commitdb.dsm.definitions": ("Attachment", "Definitions", "DefinitionsConst"),
    "commitdb.dsm.dsm_definitions": ("DSMDefinitions", "DSMFunction", "DSMFunctionPool", "DSMMembership"),
    "commitdb.dsm.report": ("DSMParseError", "DSMParseReport"),
}
__all__, __getattr__ = lazy_attributes("commitdb.dsm", globals(), _MODULES)

"""Types: the shapes values take, with their byte encodings and runtime ids.

A type is immutable and identified by its 16-byte runtime id (FORMAT.md §3); two types are
equal exactly when their runtime ids are. ``enc`` is the StreamBinary type encoding of
FORMAT.md §2, which also feeds the runtime ids of structures and attachments.
"""

from __future__ import annotations

import hashlib
import struct
import uuid as _uuid
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from commitdb.errors import DefinitionsError

if TYPE_CHECKING:
    from commitdb.values.value import Value

ZERO_UUID = bytes(16)

# Type codes (FORMAT.md §2).
VOID, BOOL, UINT8, UINT16, UINT32, UINT64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
INT8, INT16, INT32, INT64, FLOAT, DOUBLE = 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B
BLOB_ID, COMMIT_ID, UUID, STRING, BLOB = 0x0C, 0x0D, 0x0E, 0x0F, 0x10
VEC, MAT, TUPLE, OPTIONAL, VECTOR, SET, MAP, XARRAY = 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18
ANY, VARIANT, ENUMERATION, STRUCTURE, KEY = 0x19, 0x1A, 0x1B, 0x1C, 0x1D
CONCEPT, CLUB, ANY_CONCEPT = 0x1E, 0x1F, 0x20


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def encode_str(text: str) -> bytes:
    """``str(x)`` of FORMAT.md: u64 byte length then UTF-8."""
    data = text.encode("utf-8")
    return u64(len(data)) + data


def md5_uuid(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def uuid_text(raw: bytes) -> str:
    return str(_uuid.UUID(bytes=raw))


def parse_uuid(text: str) -> bytes:
    """Parse a UUID in text form (braces allowed) to its 16 bytes; ValueError when malformed."""
    return _uuid.UUID(text.strip().strip("{}")).bytes


class NameSpace:
    """A namespace: a UUID (what is hashed) and a name (what is printed)."""

    __slots__ = ("_name", "_uuid")

    def __init__(self, uuid: Any, name: str) -> None:
        if isinstance(uuid, bytes):
            self._uuid = uuid
        elif hasattr(uuid, "bytes_value"):
            self._uuid = uuid.bytes_value()
        else:
            self._uuid = parse_uuid(str(uuid))
        self._name = name

    def name(self) -> str:
        return self._name

    def uuid_bytes(self) -> bytes:
        return self._uuid

    def uuid(self) -> Any:
        from commitdb.values.scalars import ValueUUId

        return ValueUUId(self._uuid)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NameSpace) and other._uuid == self._uuid and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._uuid)

    def __repr__(self) -> str:
        return f"NameSpace({uuid_text(self._uuid)!r}, {self._name!r})"


class Type:
    """Base of every type. Subclasses set ``code`` and implement ``_rid_bytes``/``_params``."""

    code: int = -1
    name_text: str = ""

    # --- identity --------------------------------------------------------------------------
    @cached_property
    def rid(self) -> bytes:
        """The 16-byte runtime id (FORMAT.md §3)."""
        return self._rid_bytes()

    def _rid_bytes(self) -> bytes:
        return md5_uuid(ZERO_UUID + encode_str(self.name_text))

    def runtime_id(self) -> Any:
        from commitdb.values.scalars import ValueUUId

        return ValueUUId(self.rid)

    @cached_property
    def enc(self) -> bytes:
        """The StreamBinary type encoding (FORMAT.md §2)."""
        return bytes([self.code]) + self._params()

    def _params(self) -> bytes:
        return b""

    def encode(self) -> bytes:
        return self.enc

    def hexdigest(self) -> str:
        return hashlib.sha1(self.rid).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Type) and other.rid == self.rid

    def __hash__(self) -> int:
        return hash(self.rid)

    # --- text ------------------------------------------------------------------------------
    def representation(self) -> str:
        return self.name_text

    def __str__(self) -> str:
        return self.representation()

    def __repr__(self) -> str:
        return self.representation()

    # --- helpers ---------------------------------------------------------------------------
    def is_named(self) -> bool:
        return False

    def is_primitive(self) -> bool:
        return self.code <= BLOB

    def zero(self) -> Value:
        from commitdb.values.value import Value

        return Value.create(self)

    def children(self) -> tuple[Type, ...]:
        """Directly nested types (element, key/value, alternatives, fields...)."""
        return ()


class _Primitive(Type):
    _instances: dict[int, _Primitive] = {}

    def __new__(cls) -> Any:
        # Primitive types are singletons: cheap to compare and to use as dict keys.
        inst = _Primitive._instances.get(cls.code)
        if inst is None:
            inst = super().__new__(cls)
            _Primitive._instances[cls.code] = inst
        return inst

    def __reduce__(self) -> Any:
        return (self.__class__, ())


class TypeVoid(_Primitive):
    code, name_text = VOID, "void"


class TypeBool(_Primitive):
    code, name_text = BOOL, "bool"


class _TypeInteger(_Primitive):
    bits = 0
    signed = False

    @property
    def min_value(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


class TypeUInt8(_TypeInteger):
    code, name_text, bits = UINT8, "uint8", 8


class TypeUInt16(_TypeInteger):
    code, name_text, bits = UINT16, "uint16", 16


class TypeUInt32(_TypeInteger):
    code, name_text, bits = UINT32, "uint32", 32


class TypeUInt64(_TypeInteger):
    code, name_text, bits = UINT64, "uint64", 64


class TypeInt8(_TypeInteger):
    code, name_text, bits, signed = INT8, "int8", 8, True


class TypeInt16(_TypeInteger):
    code, name_text, bits, signed = INT16, "int16", 16, True


class TypeInt32(_TypeInteger):
    code, name_text, bits, signed = INT32, "int32", 32, True


class TypeInt64(_TypeInteger):
    code, name_text, bits, signed = INT64, "int64", 64, True


class TypeFloat(_Primitive):
    code, name_text = FLOAT, "float"


class TypeDouble(_Primitive):
    code, name_text = DOUBLE, "double"


class TypeBlobId(_Primitive):
    code, name_text = BLOB_ID, "blob_id"


class TypeCommitId(_Primitive):
    code, name_text = COMMIT_ID, "commit_id"


class TypeUUId(_Primitive):
    code, name_text = UUID, "uuid"


class TypeString(_Primitive):
    code, name_text = STRING, "string"


class TypeBlob(_Primitive):
    code, name_text = BLOB, "blob"


class TypeAny(_Primitive):
    code, name_text = ANY, "any"


class TypeAnyConcept(_Primitive):
    code, name_text = ANY_CONCEPT, "any_concept"


PRIMITIVE_BY_NAME: dict[str, Type] = {
    t.name_text: t
    for t in (
        TypeVoid(), TypeBool(), TypeUInt8(), TypeUInt16(), TypeUInt32(), TypeUInt64(),
        TypeInt8(), TypeInt16(), TypeInt32(), TypeInt64(), TypeFloat(), TypeDouble(),
        TypeBlobId(), TypeCommitId(), TypeUUId(), TypeString(), TypeBlob(), TypeAny(),
    )
}
PRIMITIVE_BY_CODE: dict[int, Type] = {t.code: t for t in PRIMITIVE_BY_NAME.values()}
PRIMITIVE_BY_CODE[ANY_CONCEPT] = TypeAnyConcept()
INTEGER_CODES = frozenset({UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64})
REAL_CODES = frozenset({FLOAT, DOUBLE})
NUMERIC_CODES = INTEGER_CODES | REAL_CODES


def _check_type(t: object, what: str) -> Type:
    if not isinstance(t, Type):
        raise DefinitionsError(f"{what} must be a type, got {t!r}")
    return t


class _Unary(Type):
    """optional / vector / set / xarray: one element type."""

    keyword = ""

    def __init__(self, element: Type) -> None:
        self._element = _check_type(element, f"the element of {self.keyword}")

    def element_type(self) -> Type:
        return self._element

    def children(self) -> tuple[Type, ...]:
        return (self._element,)

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([self.code]) + self._element.rid)

    def _params(self) -> bytes:
        return self._element.enc

    def representation(self) -> str:
        return f"{self.keyword}<{self._element.representation()}>"


class TypeOptional(_Unary):
    code, keyword = OPTIONAL, "optional"


class TypeVector(_Unary):
    code, keyword = VECTOR, "vector"


class TypeSet(_Unary):
    code, keyword = SET, "set"


class TypeXArray(_Unary):
    code, keyword = XARRAY, "xarray"


class TypeMap(Type):
    code = MAP

    def __init__(self, key: Type, element: Type) -> None:
        self._key = _check_type(key, "the key of a map")
        self._element = _check_type(element, "the element of a map")

    def key_type(self) -> Type:
        return self._key

    def element_type(self) -> Type:
        return self._element

    def children(self) -> tuple[Type, ...]:
        return (self._key, self._element)

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([MAP]) + self._key.rid + self._element.rid)

    def _params(self) -> bytes:
        return self._key.enc + self._element.enc

    def representation(self) -> str:
        return f"map<{self._key.representation()}, {self._element.representation()}>"


class _Sequence(Type):
    """tuple / variant: an ordered list of types."""

    keyword = ""

    def __init__(self, types: Iterable[Type]) -> None:
        self._types = tuple(_check_type(t, f"an element of {self.keyword}") for t in types)
        if not self._types:
            raise DefinitionsError(f"{self.keyword} needs at least one type")

    def types(self) -> tuple[Type, ...]:
        return self._types

    def children(self) -> tuple[Type, ...]:
        return self._types

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([self.code]) + b"".join(t.rid for t in self._types))

    def _params(self) -> bytes:
        return u64(len(self._types)) + b"".join(t.enc for t in self._types)

    def representation(self) -> str:
        return f"{self.keyword}<{', '.join(t.representation() for t in self._types)}>"


class TypeTuple(_Sequence):
    code, keyword = TUPLE, "tuple"


class TypeVariant(_Sequence):
    """variant<T1, ...>: prints as ``T1|T2``; the declaration order is part of its identity."""

    code, keyword = VARIANT, "variant"

    def representation(self) -> str:
        return "|".join(t.representation() for t in self._types)

    def __init__(self, types: Iterable[Type]) -> None:
        super().__init__(types)
        if len(set(t.rid for t in self._types)) != len(self._types):
            raise DefinitionsError(f"{self.representation()} lists a type twice")


class TypeVec(Type):
    """vec<E, n>: a fixed-size numeric vector."""

    code = VEC

    def __init__(self, element: Type, size: int) -> None:
        self._element = _check_type(element, "the element of vec")
        if self._element.code not in NUMERIC_CODES:
            raise DefinitionsError(f"the element of vec must be numeric, got {element}")
        if not isinstance(size, int) or size < 1:
            raise DefinitionsError(f"the size of vec must be a positive integer, got {size!r}")
        self._size = size

    def element_type(self) -> Type:
        return self._element

    def size(self) -> int:
        return self._size

    def children(self) -> tuple[Type, ...]:
        return (self._element,)

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([VEC]) + self._element.rid + u64(self._size))

    def _params(self) -> bytes:
        return self._element.enc + u64(self._size)

    def representation(self) -> str:
        return f"vec<{self._element.representation()}, {self._size}>"


class TypeMat(Type):
    """mat<E, columns, rows>: a fixed-size numeric matrix stored column-major."""

    code = MAT

    def __init__(self, element: Type, columns: int, rows: int) -> None:
        self._element = _check_type(element, "the element of mat")
        if self._element.code not in NUMERIC_CODES:
            raise DefinitionsError(f"the element of mat must be numeric, got {element}")
        for what, n in (("columns", columns), ("rows", rows)):
            if not isinstance(n, int) or n < 1:
                raise DefinitionsError(f"the {what} of mat must be a positive integer, got {n!r}")
        self._columns, self._rows = columns, rows

    def element_type(self) -> Type:
        return self._element

    def columns(self) -> int:
        return self._columns

    def rows(self) -> int:
        return self._rows

    def children(self) -> tuple[Type, ...]:
        return (self._element,)

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([MAT]) + self._element.rid + u64(self._columns) + u64(self._rows))

    def _params(self) -> bytes:
        return self._element.enc + u64(self._columns) + u64(self._rows)

    def representation(self) -> str:
        return f"mat<{self._element.representation()}, {self._columns}, {self._rows}>"


# --- named types -------------------------------------------------------------------------------


class _Named(Type):
    def __init__(self, namespace: NameSpace, name: str, documentation: str = "") -> None:
        if not isinstance(namespace, NameSpace):
            raise DefinitionsError(f"a namespace is required for {name!r}")
        self._namespace = namespace
        self._name = name
        self._documentation = documentation or ""

    def namespace(self) -> NameSpace:
        return self._namespace

    def name(self) -> str:
        return self._name

    def documentation(self) -> str:
        return self._documentation

    def is_named(self) -> bool:
        return True

    def _params(self) -> bytes:
        return self.rid

    def representation(self) -> str:
        return f"{self._namespace.name()}::{self._name}"

    def _prefix(self) -> bytes:
        return self._namespace.uuid_bytes() + encode_str(self._name)


class TypeConcept(_Named):
    code = CONCEPT

    def __init__(
        self, namespace: NameSpace, name: str, parent: TypeConcept | None = None, documentation: str = ""
    ) -> None:
        super().__init__(namespace, name, documentation)
        if parent is not None and not isinstance(parent, TypeConcept):
            raise DefinitionsError(f"the parent of concept {name!r} must be a concept, got {parent}")
        self._parent = parent

    def parent(self) -> TypeConcept | None:
        return self._parent

    def ancestors(self) -> list[TypeConcept]:
        """This concept, then its parent, grand-parent ..."""
        chain: list[TypeConcept] = []
        node: TypeConcept | None = self
        while node is not None:
            chain.append(node)
            node = node._parent
        return chain

    def is_a(self, other: TypeConcept) -> bool:
        return any(c.rid == other.rid for c in self.ancestors())

    def _rid_bytes(self) -> bytes:
        return md5_uuid(self._prefix() + (self._parent.rid if self._parent is not None else b""))


class TypeClub(_Named):
    """A club: a named group of concepts. Membership does not enter the runtime id."""

    code = CLUB

    def __init__(self, namespace: NameSpace, name: str, documentation: str = "") -> None:
        super().__init__(namespace, name, documentation)
        self._members: dict[bytes, TypeConcept] = {}

    def add_member(self, concept: TypeConcept) -> None:
        self._members[concept.rid] = concept

    def members(self) -> list[TypeConcept]:
        return [self._members[r] for r in sorted(self._members)]

    def admits(self, concept: TypeConcept) -> bool:
        return any(c.rid in self._members for c in concept.ancestors())

    def _rid_bytes(self) -> bytes:
        return md5_uuid(self._prefix())


class TypeEnumerationCase:
    __slots__ = ("_documentation", "_index", "_name")

    def __init__(self, name: str, index: int, documentation: str = "") -> None:
        self._name, self._index, self._documentation = name, index, documentation or ""

    def name(self) -> str:
        return self._name

    def index(self) -> int:
        return self._index

    def documentation(self) -> str:
        return self._documentation

    def __repr__(self) -> str:
        return f".{self._name}"


class TypeEnumeration(_Named):
    code = ENUMERATION

    def __init__(
        self,
        namespace: NameSpace,
        name: str,
        cases: Sequence[str | tuple[str, str]],
        documentation: str = "",
    ) -> None:
        super().__init__(namespace, name, documentation)
        built: list[TypeEnumerationCase] = []
        for i, case in enumerate(cases):
            case_name, case_doc = (case, "") if isinstance(case, str) else case
            built.append(TypeEnumerationCase(case_name, i, case_doc))
        if not 1 <= len(built) <= 256:
            raise DefinitionsError(f"enum {name!r} must have 1 to 256 cases, got {len(built)}")
        names = [c.name() for c in built]
        if len(set(names)) != len(names):
            raise DefinitionsError(f"enum {name!r} declares a case twice")
        self._cases = tuple(built)
        self._by_name = {c.name(): c for c in built}

    def cases(self) -> tuple[TypeEnumerationCase, ...]:
        return self._cases

    def case(self, name: str) -> TypeEnumerationCase | None:
        return self._by_name.get(name[1:] if name.startswith(".") else name)

    def query(self, name: str) -> TypeEnumerationCase | None:
        """The case called ``name`` (``active`` or ``.active``), or None."""
        return self.case(name)

    def check(self, name: str) -> TypeEnumerationCase:
        """The case called ``name``; UnknownEnumCaseError when there is none."""
        found = self.case(name)
        if found is None:
            from commitdb.errors import UnknownEnumCaseError

            raise UnknownEnumCaseError(f"the case {name} is not defined for enum {self}")
        return found

    def _rid_bytes(self) -> bytes:
        return md5_uuid(self._prefix() + b"".join(encode_str(c.name()) for c in self._cases))


class TypeStructureField:
    __slots__ = ("_default", "_documentation", "_name", "_type")

    def __init__(self, name: str, type: Type, default: Value | None = None, documentation: str = "") -> None:
        self._name, self._type, self._documentation = name, type, documentation or ""
        self._default = default

    def name(self) -> str:
        return self._name

    def type(self) -> Type:
        return self._type

    def documentation(self) -> str:
        return self._documentation

    def default_value(self) -> Value | None:
        """The declared default, or None when it is absent or equal to the type's zero."""
        return self._default

    def __repr__(self) -> str:
        return f"{self._name}:{self._type}"


class TypeStructure(_Named):
    code = STRUCTURE

    def __init__(
        self,
        namespace: NameSpace,
        name: str,
        fields: Sequence[TypeStructureField | tuple[Any, ...]],
        documentation: str = "",
    ) -> None:
        super().__init__(namespace, name, documentation)
        built: list[TypeStructureField] = []
        for f in fields:
            if not isinstance(f, TypeStructureField):
                f = TypeStructureField(*f)
            _check_type(f.type(), f"the type of field {f.name()!r}")
            built.append(f)
        names = [f.name() for f in built]
        if len(set(names)) != len(names):
            raise DefinitionsError(f"struct {name!r} declares a field twice")
        self._fields = tuple(self._normalise_default(f) for f in built)
        self._by_name = {f.name(): i for i, f in enumerate(self._fields)}

    @staticmethod
    def _normalise_default(field: TypeStructureField) -> TypeStructureField:
        """Validate a default and drop it when it equals the zero value (FORMAT.md §3)."""
        from commitdb.values.value import Value

        default = field.default_value()
        if default is None:
            return field
        value = Value.create(field.type(), default)
        if Value.create(field.type()) == value:
            value = None
        return TypeStructureField(field.name(), field.type(), value, field.documentation())

    def fields(self) -> list[TypeStructureField]:
        return list(self._fields)

    def field_index(self, name: str) -> int | None:
        return self._by_name.get(name)

    def field(self, name: str) -> TypeStructureField | None:
        i = self._by_name.get(name)
        return None if i is None else self._fields[i]

    def children(self) -> tuple[Type, ...]:
        return tuple(f.type() for f in self._fields)

    def _rid_bytes(self) -> bytes:
        from commitdb.codec import encode_value

        parts = [self._prefix()]
        for f in self._fields:
            parts.append(encode_str(f.name()))
            parts.append(f.type().enc)
            default = f.default_value()
            if default is not None:
                parts.append(encode_value(default))
        return md5_uuid(b"".join(parts))


class TypeEnumerationDescriptor:
    """The cases of an enumeration under construction: ``add_case(name, documentation="")``,
    then ``Definitions.create_enumeration(namespace, descriptor)``."""

    def __init__(self, name: str, documentation: str = "") -> None:
        self._name, self._documentation = name, documentation or ""
        self._cases: list[tuple[str, str]] = []

    def name(self) -> str:
        return self._name

    def documentation(self) -> str:
        return self._documentation

    def add_case(self, name: str, documentation: str = "") -> None:
        self._cases.append((name, documentation or ""))

    def cases(self) -> list[tuple[str, str]]:
        return list(self._cases)

    def build(self, namespace: NameSpace) -> TypeEnumeration:
        return TypeEnumeration(namespace, self._name, self._cases, self._documentation)

    def __repr__(self) -> str:
        return f"TypeEnumerationDescriptor({self._name!r}, {len(self._cases)} cases)"


class TypeStructureDescriptor:
    """The fields of a structure under construction: ``add_field(name, type_or_default,
    documentation="")`` (a Value gives both the field's type and its default), then
    ``Definitions.create_structure(namespace, descriptor)``."""

    def __init__(self, name: str, documentation: str = "") -> None:
        self._name, self._documentation = name, documentation or ""
        self._fields: list[TypeStructureField] = []

    def name(self) -> str:
        return self._name

    def documentation(self) -> str:
        return self._documentation

    def add_field(self, name: str, type_or_default: Any, documentation: str = "") -> None:
        if isinstance(type_or_default, Type):
            field = TypeStructureField(name, type_or_default, None, documentation)
        else:
            from commitdb.values.value import Value

            if not isinstance(type_or_default, Value):
                raise DefinitionsError(
                    f"field {name!r} needs a type or a default value, got {type_or_default!r}"
                )
            field = TypeStructureField(name, type_or_default.type(), type_or_default.copy(), documentation)
        self._fields.append(field)

    def fields(self) -> list[TypeStructureField]:
        return list(self._fields)

    def build(self, namespace: NameSpace) -> TypeStructure:
        if not self._fields:
            raise DefinitionsError(f"struct {self._name!r} has no field")
        return TypeStructure(namespace, self._name, self._fields, self._documentation)

    def __repr__(self) -> str:
        return f"TypeStructureDescriptor({self._name!r}, {len(self._fields)} fields)"


class TypeKey(Type):
    """key<X>: a reference to an instance of concept X (or of a club, or of any concept)."""

    code = KEY

    def __init__(self, element: Type) -> None:
        if not isinstance(element, TypeConcept | TypeClub | TypeAnyConcept):
            raise DefinitionsError(f"key<...> requires a concept, a club or any_concept, got {element}")
        self._element = element

    def element_type(self) -> Type:
        return self._element

    def children(self) -> tuple[Type, ...]:
        return (self._element,)

    def admits(self, concept: TypeConcept) -> bool:
        """Whether an instance of ``concept`` may be referenced by this key type."""
        target = self._element
        if isinstance(target, TypeAnyConcept):
            return True
        if isinstance(target, TypeClub):
            return target.admits(concept)
        return concept.is_a(target)  # type: ignore[arg-type]

    def _rid_bytes(self) -> bytes:
        return md5_uuid(bytes([KEY]) + self._element.rid)

    def _params(self) -> bytes:
        return self._element.enc

    def representation(self) -> str:
        return f"key<{self._element.representation()}>"


def type_mentions(haystack: Type, needle_rid: bytes) -> bool:
    """Whether ``haystack`` is or contains (through containers, not fields) the type ``needle_rid``."""
    if haystack.rid == needle_rid:
        return True
    if isinstance(haystack, TypeStructure):
        return False
    return any(type_mentions(c, needle_rid) for c in haystack.children())


def named_types_in(t: Type) -> list[_Named]:
    """The named types that appear in ``t`` through containers (not through struct fields)."""
    if isinstance(t, _Named):
        return [t]
    found: list[_Named] = []
    for c in t.children():
        found.extend(named_types_in(c))
    return found


class Types:
    """Constants for the primitive types, in the style ``Type.STRING``."""

    VOID = TypeVoid()
    BOOL = TypeBool()
    UINT8 = TypeUInt8()
    UINT16 = TypeUInt16()
    UINT32 = TypeUInt32()
    UINT64 = TypeUInt64()
    INT8 = TypeInt8()
    INT16 = TypeInt16()
    INT32 = TypeInt32()
    INT64 = TypeInt64()
    FLOAT = TypeFloat()
    DOUBLE = TypeDouble()
    BLOB_ID = TypeBlobId()
    COMMIT_ID = TypeCommitId()
    UUID = TypeUUId()
    STRING = TypeString()
    BLOB = TypeBlob()
    ANY = TypeAny()
    ANY_CONCEPT = TypeAnyConcept()


for _name, _value in vars(Types).items():
    if _name.isupper():
        setattr(Type, _name, _value)

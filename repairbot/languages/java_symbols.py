"""What a Java name before a dot is, and which members it has: the project's classes (read
with tree-sitter-java) and the JDK's (`javap`), for the Java completion engine.

Every answer is either certain or None ("cannot tell"), never a guess: the engine refuses
a member only when it has a member list it trusts, and a false refusal costs a fix. So
anything this module does not model (a `var`, a type parameter, a lambda parameter, an
anonymous class, a supertype it cannot read, two classes of one name) is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from repairbot.languages import java, javap
from validators import safe_files

# Members every class-name receiver has besides its declared ones (`Outer.this`,
# `Cls.class`); `outer.new Inner()` creates an inner class from an instance.
TYPE_EXTRAS = frozenset({"class", "this", "super", "new"})
INSTANCE_EXTRAS = frozenset({"new"})
ARRAY_MEMBERS = frozenset({"length", "clone"})
_BODIES = {"class_body", "interface_body", "enum_body", "record_declaration", "enum_body_declarations"}


@dataclass
class TypeDecl:
    """A class, interface, enum or record declared in the project."""

    name: str
    kind: str
    file: FileSymbols
    package: str
    members: set[str] = field(default_factory=set)
    fields: dict[str, str | None] = field(default_factory=dict)  # name -> declared type text
    supertypes: list[str] = field(default_factory=list)
    nested: dict[str, TypeDecl] = field(default_factory=dict)


@dataclass
class FileSymbols:
    """One file's package, imports, declared types (by simple name, nested ones too) and
    the names of its type parameters, which can stand for any type."""

    package: str = ""
    imports: dict[str, str] = field(default_factory=dict)  # simple name -> qualified name
    wildcards: list[str] = field(default_factory=list)
    static_members: set[str] = field(default_factory=set)  # `import static a.B.name`: name
    static_wildcards: list[str] = field(default_factory=list)  # `import static a.B.*`: a.B
    types: dict[str, list[TypeDecl]] = field(default_factory=dict)
    type_parameters: set[str] = field(default_factory=set)


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8") if node is not None and node.text is not None else ""


def read_file(source: bytes) -> tuple[FileSymbols, Node]:
    """The symbols of one file, and its syntax tree (the engine finds the hole's scope in it)."""
    root = java.parse(source).root_node
    return symbols_of(root), root


def symbols_of(root: Node) -> FileSymbols:
    """The symbols of a file already parsed (`root`: its tree's root node)."""
    symbols = FileSymbols()
    for child in root.named_children:
        if child.type == "package_declaration":
            symbols.package = _text(child.named_children[-1]) if child.named_children else ""
        elif child.type == "import_declaration":
            name = _text(next((c for c in child.named_children if c.type in ("scoped_identifier", "identifier")), None))
            static = any(c.type == "static" for c in child.children)
            if any(c.type == "asterisk" for c in child.children):
                (symbols.static_wildcards if static else symbols.wildcards).append(name)
            elif name and static:
                symbols.static_members.add(name.rsplit(".", 1)[-1])
            elif name:
                symbols.imports[name.rsplit(".", 1)[-1]] = name
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "type_parameter":
            symbols.type_parameters.add(_text(next((c for c in node.named_children if c.type in ("identifier", "type_identifier")), None)))
        stack.extend(node.named_children)
    for child in root.named_children:
        if child.type in java.TYPES:
            _declare(child, symbols, None)
    return symbols


def _declare(node: Node, symbols: FileSymbols, outer: TypeDecl | None) -> None:
    decl = TypeDecl(_text(node.child_by_field_name("name")), node.type.removesuffix("_declaration"), symbols, symbols.package)
    symbols.types.setdefault(decl.name, []).append(decl)
    if outer is not None:
        outer.nested[decl.name] = decl
        outer.members.add(decl.name)
    for clause in ("superclass", "interfaces"):
        clause_node = node.child_by_field_name(clause)
        if clause_node is not None:
            decl.supertypes += _type_list(clause_node)
    for child in node.named_children:
        if child.type == "extends_interfaces":
            decl.supertypes += _type_list(child)
    parameters = node.child_by_field_name("parameters")  # a record's components
    for component in parameters.named_children if parameters is not None else []:
        name = _text(component.child_by_field_name("name"))
        decl.members.add(name)
        decl.fields[name] = _text(component.child_by_field_name("type"))
    body = node.child_by_field_name("body")
    members = list(body.named_children) if body is not None else []
    for member in list(members):
        if member.type == "enum_body_declarations":
            members += member.named_children
    for member in members:
        if member.type in java.TYPES:
            _declare(member, symbols, decl)
        elif member.type in ("field_declaration", "constant_declaration"):
            type_text = _text(member.child_by_field_name("type"))
            for declarator in member.children_by_field_name("declarator"):
                name = _text(declarator.child_by_field_name("name"))
                decl.members.add(name)
                decl.fields[name] = type_text + "[]" if declarator.child_by_field_name("dimensions") else type_text
        elif member.type == "method_declaration":
            decl.members.add(_text(member.child_by_field_name("name")))
        elif member.type == "enum_constant":
            name = _text(member.child_by_field_name("name"))
            decl.members.add(name)
            decl.fields[name] = decl.name


def _type_list(node: Node) -> list[str]:
    """The type names of an `extends`/`implements` clause, type arguments stripped."""
    found = []
    stack = list(node.named_children)
    while stack:
        child = stack.pop(0)
        if child.type in ("type_identifier", "scoped_type_identifier", "generic_type"):
            found.append(javap.strip_generics(_text(child)))
        elif child.type == "type_list":
            stack = list(child.named_children) + stack
    return found


_FILES: dict[Path, tuple[float, FileSymbols]] = {}


def file_symbols(path: Path) -> FileSymbols | None:
    """A project file's symbols, cached by path and modification time."""
    try:
        mtime = path.lstat().st_mtime
        cached = _FILES.get(path)
        if cached is None or cached[0] != mtime:  # a planted link is refused, never followed
            _FILES[path] = (mtime, read_file(safe_files.read_bytes(path.parent, path.name))[0])
    except OSError:
        return None
    return _FILES[path][1]


class Project:
    """Type names resolved as javac would, and the member names of what they name; for one
    file (`current`) of a project whose other files are read only when a name needs them."""

    def __init__(self, current: FileSymbols, current_path: Path | None, project_root: Path | None) -> None:
        self.current = current
        self._current_path = current_path.resolve() if current_path is not None else None
        self._root = project_root
        self._others: list[FileSymbols] | None = None
        self._members: dict[int, frozenset[str] | None] = {}

    def others(self) -> list[FileSymbols]:
        if self._others is None:
            self._others = []
            if self._root is not None:
                for path in sorted(self._root.rglob(f"*{java.SUFFIX}")):
                    relative = path.relative_to(self._root)
                    if any(part.startswith(".") for part in relative.parts[:-1]) or path.resolve() == self._current_path:
                        continue
                    symbols = file_symbols(path)
                    if symbols is not None:
                        self._others.append(symbols)
        return self._others

    def resolve(self, type_text: str, context: FileSymbols) -> TypeDecl | str | None:
        """What a declared type names, seen from `context`'s file: a project class, a JDK
        class (its qualified name), or None. Arrays and `var` are the caller's business."""
        parts = javap.strip_generics(type_text).replace(" ", "").split(".")
        found = self._simple(parts[0], context)
        if found is None and len(parts) > 1:
            found, parts = self._qualified(parts)
        for part in parts[1:]:
            if found is None:
                return None
            found = found.nested.get(part) if isinstance(found, TypeDecl) else (found + "$" + part if javap.read(found + "$" + part) else None)
        return found

    def _qualified(self, parts: list[str]) -> tuple[TypeDecl | str | None, list[str]]:
        """`java.util.Map.Entry` or `pkg.Cls`: the longest package prefix that names a class."""
        for split in range(len(parts) - 1, 0, -1):
            package, name = ".".join(parts[:split]), parts[split]
            decls = [d for f in [self.current, *self.others()] for d in f.types.get(name, []) if d.package == package]
            if len(decls) == 1:
                return decls[0], parts[split:]
            if javap.read(f"{package}.{name}") is not None:
                return f"{package}.{name}", parts[split:]
        return None, parts

    def _simple(self, name: str, context: FileSymbols) -> TypeDecl | str | None:
        if name in context.type_parameters or name == "var":
            return None
        own = context.types.get(name, [])
        if own:
            return own[0] if len(own) == 1 else None
        if name in context.imports:
            qualified = context.imports[name]
            package = qualified.rsplit(".", 1)[0]
            decls = [d for f in self.others() for d in f.types.get(name, []) if d.package == package]
            if decls:
                return decls[0] if len(decls) == 1 else None
            return qualified if javap.read(qualified) is not None else None
        same_package = [d for f in self.others() for d in f.types.get(name, []) if d.package == context.package]
        if same_package:
            return same_package[0] if len(same_package) == 1 else None
        candidates: list[TypeDecl | str] = []
        for package in context.wildcards:
            candidates += [d for f in self.others() for d in f.types.get(name, []) if d.package == package]
            if javap.read(f"{package}.{name}") is not None:
                candidates.append(f"{package}.{name}")
        if candidates:
            return candidates[0] if len(candidates) == 1 else None
        return f"java.lang.{name}" if javap.read(f"java.lang.{name}") is not None else None

    def members(self, target: TypeDecl | str) -> frozenset[str] | None:
        """Every member name of a project or JDK class, inherited ones included; None when
        any supertype is unknown (the member might come from there)."""
        if isinstance(target, str):
            return javap.members(target)
        key = id(target)
        if key not in self._members:
            self._members[key] = None  # a cycle in `extends` resolves to "cannot tell"
            self._members[key] = self._declared_members(target)
        return self._members[key]

    def _declared_members(self, decl: TypeDecl) -> frozenset[str] | None:
        implicit = {"enum": "java.lang.Enum", "record": "java.lang.Record"}.get(decl.kind, javap.OBJECT)
        found = set(decl.members)
        for supertype in [*decl.supertypes, implicit]:
            resolved = self.resolve(supertype, decl.file)
            inherited = self.members(resolved) if resolved is not None else None
            if inherited is None:
                return None
            found |= inherited
        return frozenset(found)

    def field_type(self, decl: TypeDecl, name: str) -> tuple[bool, str | None]:
        """Whether `name` is (or may be) a field of `decl` or its supertypes, and its
        declared type when certain. A supertype we cannot read may hold it: (True, None)."""
        if name in decl.fields:
            return True, decl.fields[name]
        for supertype in decl.supertypes:
            resolved = self.resolve(supertype, decl.file)
            if not isinstance(resolved, TypeDecl):
                return True, None
            found, type_text = self.field_type(resolved, name)
            if found:
                return found, type_text
        return False, None


def receiver_members(project: Project, scope: Scope, name: str) -> frozenset[str] | None:
    """The members of what `name` is before a dot at `scope`: `this`, a local, a field of a
    class around it, or a class name; None when it cannot be told for certain."""
    if name == "this":
        if scope.opaque or not scope.classes:
            return None
        members = project.members(scope.classes[0])
        return members | INSTANCE_EXTRAS if members is not None else None
    if name in scope.locals:
        return _members_of_type(project, scope.locals[name], project.current)
    if scope.opaque or not scope.classes:
        return None
    for decl in scope.classes:
        found, type_text = project.field_type(decl, name)
        if found:
            return _members_of_type(project, type_text, decl.file)
    if not name[0].isupper():
        return None  # not a local or field we know of: maybe inherited, maybe a package
    resolved = project.resolve(name, project.current)
    members = project.members(resolved) if resolved is not None else None
    return members | TYPE_EXTRAS if members is not None else None


def _members_of_type(project: Project, type_text: str | None, context: FileSymbols) -> frozenset[str] | None:
    """The members of a value of a declared type (None for `var` and anything unsure)."""
    if not type_text:
        return None
    plain = javap.strip_generics(type_text).replace(" ", "")
    if plain.endswith("[]") or plain.endswith("..."):
        base = javap.members(javap.OBJECT)
        return base | ARRAY_MEMBERS if base is not None else None
    resolved = project.resolve(plain, context)
    members = project.members(resolved) if resolved is not None else None
    return members | INSTANCE_EXTRAS if members is not None else None


# `var` and the types that are names, not classes, are handled by `resolve`; `final`
# and annotations are modifiers, not part of the type.
_LOCAL_KINDS = {"local_variable_declaration", "formal_parameter", "spread_parameter", "catch_formal_parameter",
                "enhanced_for_statement", "resource"}


@dataclass
class Scope:
    """The names visible at one position of a file: local variables and parameters
    (name -> type text, None when unknown), and the classes around it, innermost first.
    `opaque`: the position is in an anonymous or local class, whose inherited members
    could shadow anything outside; then only the locals count."""

    locals: dict[str, str | None]
    classes: list[TypeDecl]
    opaque: bool


def scope_at(root: Node, symbols: FileSymbols, position: int) -> Scope:
    """The scope at a byte offset: locals declared before it whose block holds it."""
    node: Node | None = root.descendant_for_byte_range(position, position)
    member: Node | None = None
    class_nodes: list[Node] = []
    opaque = False
    while node is not None:
        if node.type in _BODIES and node.parent is not None:
            owner = node.parent if node.type != "record_declaration" else node
            if owner.type == "object_creation_expression" or java.enclosing_function(owner) is not None:
                opaque = True
            elif owner.type in java.TYPES:
                class_nodes.append(owner)
        if member is None and node.parent is not None and node.parent.type in _BODIES:
            member = node
        node = node.parent
    locals_: dict[str, str | None] = {}
    if member is not None:
        _collect_locals(member, position, locals_)
    classes = [d for n in class_nodes for d in _decl_for(n, symbols)]
    return Scope(locals_, classes if len(classes) == len(class_nodes) else [], opaque or len(classes) != len(class_nodes))


def _decl_for(node: Node, symbols: FileSymbols) -> list[TypeDecl]:
    decls = symbols.types.get(_text(node.child_by_field_name("name")), [])
    return decls[:1] if len(decls) == 1 else []


def _collect_locals(member: Node, position: int, found: dict[str, str | None]) -> None:
    stack = [member]
    while stack:
        node = stack.pop()
        if node.start_byte >= position:
            continue
        stack.extend(node.named_children)
        for name, type_text, scope in _declared(node):
            if scope is None or scope.start_byte <= position <= scope.end_byte:
                if name in found and found[name] != type_text:
                    type_text = None  # declared twice (shadowing we do not model)
                found[name] = type_text


def _declared(node: Node) -> list[tuple[str, str | None, Node | None]]:
    """(name, declared type text or None, the node its scope is) for what `node` declares."""
    if node.type in _LOCAL_KINDS:
        type_text = _text(node.child_by_field_name("type")) or None
        if node.type == "spread_parameter" or (type_text is not None and node.type == "catch_formal_parameter" and "|" in type_text):
            type_text = None if node.type == "catch_formal_parameter" else f"{type_text}[]"
        scope = node.parent
        if node.type in ("resource", "formal_parameter", "spread_parameter") and scope is not None:
            scope = scope.parent
        if node.type == "enhanced_for_statement" or scope is None:
            scope = node
        declarators = node.children_by_field_name("declarator") if node.type == "local_variable_declaration" else [node]
        result = []
        for declarator in declarators:
            name = _text(declarator.child_by_field_name("name"))
            dims = declarator.child_by_field_name("dimensions")
            result.append((name, f"{type_text}[]" if type_text and dims is not None else type_text, scope))
        return result
    if node.type == "lambda_expression":
        parameters = node.child_by_field_name("parameters")
        if parameters is not None and parameters.type in ("identifier", "inferred_parameters"):
            names = [parameters] if parameters.type == "identifier" else parameters.named_children
            return [(_text(n), None, node) for n in names]
    if node.type in ("instanceof_expression", "type_pattern", "record_pattern_component"):
        names = [c for c in node.named_children if c.type == "identifier"]
        name_field = node.child_by_field_name("name")
        # A pattern variable's scope follows the flow of the condition: take it as everywhere.
        return [(_text(n), None, None) for n in ([name_field] if name_field is not None else names)]
    return []

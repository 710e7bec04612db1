"""The public members of JDK classes, read with `javap`, for the Java completion engine.

The JDK's own class files are the one source that is always right about what
`ArrayList` has; `javap -public` lists it in a tenth of a second, and the answer depends
only on the JDK, so each class is read once ever and kept as JSON under
~/.cache/repairbot/java/javap-<java version>/. Only `java.*` and `javax.*` names are asked
about: any other class could be the project's or a library's, which the JDK alone cannot
see, and a cached "not found" for it would be wrong the day the class path changes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CACHE_ROOT = Path.home() / ".cache" / "repairbot" / "java"
# Every object, interfaces included, has Object's members; arrays have these as well.
OBJECT = "java.lang.Object"
_HEADER = re.compile(r"\b(?:class|interface|enum|record)\s+([\w.$]+)(.*)\{\s*$")
_METHOD = re.compile(r"([\w.$]+)\s*\(")
_FIELD = re.compile(r"([\w$]+)\s*;\s*$")
_QUALIFIED = re.compile(r"^(?:java|javax)\.[\w.$]+$")


@dataclass(frozen=True)
class ClassInfo:
    """One class as `javap -public` prints it: the member names it declares and the
    classes it extends or implements (fully qualified, generics stripped)."""

    members: frozenset[str]
    supertypes: tuple[str, ...]


def strip_generics(text: str) -> str:
    """`Map<K, List<V>>` -> `Map`: the type arguments never change which members exist."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"<[^<>]*>", "", text)
    return text


def parse(output: str) -> ClassInfo | None:
    """The members and supertypes in `javap -public` output; None when it names no class."""
    members: set[str] = set()
    supertypes: list[str] = []
    header_seen = False
    for raw in output.splitlines():
        line = strip_generics(raw).strip()
        if not header_seen:
            header = _HEADER.search(line)
            if header is not None:
                header_seen = True
                for clause in re.findall(r"\b(?:extends|implements)\s+([\w.$,\s]+?)(?=\s+implements\b|$)", header.group(2)):
                    supertypes.extend(part.strip() for part in clause.split(",") if part.strip())
            continue
        if not line.startswith("public"):
            continue
        method = _METHOD.search(line)
        if method is not None:
            if "." not in method.group(1):  # a constructor is printed with its qualified name
                members.add(method.group(1))
        else:
            field = _FIELD.search(line)
            if field is not None:
                members.add(field.group(1))
    return ClassInfo(frozenset(members), tuple(supertypes)) if header_seen else None


@cache
def java_version() -> str:
    """The JDK's version (`17.0.15`): a new JDK may add members, so it names the cache."""
    try:
        result = subprocess.run(["javap", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


@cache
def read(name: str) -> ClassInfo | None:
    """`name`'s own members and supertypes (fully qualified, nested classes with `$`);
    None for a class the JDK does not have or a name outside `java.*`/`javax.*`."""
    if not _QUALIFIED.match(name):
        return None
    path = CACHE_ROOT / f"javap-{java_version()}" / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        try:
            data = _run(name)
        except (OSError, subprocess.SubprocessError):
            return None  # no JDK here, or it hung: unknown this time, and nothing cached
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(data, handle)
        os.replace(handle.name, path)  # atomic: parallel holes may read the same class
    if data is None:
        return None
    return ClassInfo(frozenset(data["members"]), tuple(data["supertypes"]))


@cache
def members(name: str) -> frozenset[str] | None:
    """Every public member name of `name`, inherited ones included (ArrayList's `stream`
    comes from Collection); None when the class or any of its supertypes is unknown, since
    a member could then come from the part we cannot see."""
    info = read(name)
    if info is None:
        return None
    found = set(info.members)
    for supertype in (*info.supertypes, OBJECT) if name != OBJECT else info.supertypes:
        inherited = members(supertype)
        if inherited is None:
            return None
        found |= inherited
    return frozenset(found)


def _run(name: str) -> dict[str, list[str]] | None:
    """One javap call, away from any class path: the answer must be the JDK's alone."""
    env = {key: value for key, value in os.environ.items() if key != "CLASSPATH"}
    with tempfile.TemporaryDirectory() as empty:
        result = subprocess.run(
            ["javap", "-public", name], capture_output=True, text=True, timeout=60, cwd=empty, env=env
        )
    info = parse(result.stdout) if result.returncode == 0 else None
    if info is None:
        return None
    return {"members": sorted(info.members), "supertypes": list(info.supertypes)}

"""File access inside a work dir that untrusted code has written to.

repairbot runs as a user with more rights than the sandboxed tests (often root), and the
tests can change anything in their work dir: replace a source file or a report with a
symlink to a host file, a FIFO that never answers, a directory of a million files. Every
read and write this process does in a work dir therefore goes through this module: paths
are walked one component at a time relative to an open directory with `O_NOFOLLOW` (what
`openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` does in one call, which Python lacks), the
final file must be a regular file (a FIFO is opened non-blocking and refused, never read),
and reads are bounded in size.

Errors are `UnsafePath`, an `OSError`, so a caller that already treats an unreadable file
as missing keeps doing so.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# Large enough for any source file or test report a real project has.
MAX_READ_BYTES = 64 * MiB

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class UnsafePath(OSError):
    """A path that leaves the work dir, passes through a symlink, or names no regular file."""


class TooLarge(UnsafePath):
    """A file or tree over the size this process agreed to read or copy."""


def parts_of(relative: str | PurePosixPath | Path) -> list[str]:
    """The components of a path that must stay inside its root: not absolute, no `..`,
    no empty or NUL-bearing names."""
    text = str(relative)
    if "\0" in text:
        raise UnsafePath(f"path {text!r} contains a NUL byte")
    path = PurePosixPath(text)
    if path.is_absolute():
        raise UnsafePath(f"path {text!r} is absolute: it must be relative to the project")
    parts = [p for p in path.parts if p != "."]
    if not parts or ".." in parts:
        raise UnsafePath(f"path {text!r} leaves the project")
    return parts


def inside(root: Path, relative: str | PurePosixPath | Path) -> str:
    """`relative` normalized (POSIX, no `.`), after checking it stays lexically in `root`."""
    return "/".join(parts_of(relative))


@contextmanager
def _parent_dir(root: Path, parts: list[str]) -> Iterator[int]:
    """An fd of the directory holding `parts[-1]`, reached without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in parts[:-1]:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _refusal(exc, "/".join(parts)) from exc
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _refusal(exc: OSError, relative: str) -> OSError:
    """ELOOP/ENOTDIR from O_NOFOLLOW mean a symlink (or a file) where a directory or file
    was expected: the sign of tampering, reported as such; other errors pass through."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return UnsafePath(f"{relative} passes through a symlink or a non-directory: refused")
    return exc


def open_regular(root: Path, relative: str | PurePosixPath | Path, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """An fd of the regular file `root/relative`, opened with `flags`, never through a
    symlink and never of a FIFO, socket or device; the caller closes it."""
    parts = parts_of(relative)
    with _parent_dir(root, parts) as parent:
        try:
            fd = os.open(parts[-1], flags | _FILE_FLAGS, mode, dir_fd=parent)
        except OSError as exc:
            raise _refusal(exc, "/".join(parts)) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafePath(f"{'/'.join(parts)} is not a regular file: refused")
    if flags & (os.O_WRONLY | os.O_RDWR) and info.st_nlink > 1:
        os.close(fd)  # a hard link could make a write land in a file outside the work dir
        raise UnsafePath(f"{'/'.join(parts)} has {info.st_nlink} hard links: refused")
    os.set_blocking(fd, True)
    return fd


def read_bytes(root: Path, relative: str | PurePosixPath | Path, limit: int = MAX_READ_BYTES) -> bytes:
    """The file's bytes; `TooLarge` if it holds more than `limit`."""
    fd = open_regular(root, relative)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{relative} is larger than {limit} bytes: refused")
    return data


def read_text(
    root: Path, relative: str | PurePosixPath | Path, limit: int = MAX_READ_BYTES, errors: str = "strict"
) -> str:
    return read_bytes(root, relative, limit).decode("utf-8", errors)


def sha256(root: Path, relative: str | PurePosixPath | Path) -> bytes:
    """The SHA-256 of the file's bytes, read in chunks: not bounded by `MAX_READ_BYTES`
    (only a work dir within `WORKSPACE_LIMITS` is hashed)."""
    fd = open_regular(root, relative)
    with os.fdopen(fd, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def write_bytes(root: Path, relative: str | PurePosixPath | Path, data: bytes, create: bool = False) -> None:
    """Replace the contents of the regular file `root/relative` (created if `create`),
    keeping its owner and mode (the sandbox uid must still be able to read it)."""
    flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT if create else 0)
    fd = open_regular(root, relative, flags)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def check_writable(root: Path, relative: str | PurePosixPath | Path) -> None:
    """Raise what `write_bytes` would, without writing: lets a caller check every file of
    a change before writing any."""
    os.close(open_regular(root, relative, os.O_WRONLY))


def write_text(root: Path, relative: str | PurePosixPath | Path, text: str, create: bool = False) -> None:
    write_bytes(root, relative, text.encode("utf-8"), create=create)


def is_directory(root: Path, relative: str | PurePosixPath | Path) -> bool:
    """Whether `root/relative` is a directory reached without a symlink (a report or build
    dir the tests may have swapped for a link to a host dir)."""
    try:
        parts = parts_of(relative)
        with _parent_dir(root, parts) as parent:
            os.close(os.open(parts[-1], _DIR_FLAGS, dir_fd=parent))
    except OSError:
        return False
    return True


def list_dir(root: Path, relative: str | PurePosixPath | Path) -> list[str]:
    """The sorted entry names of the directory `root/relative`, reached without a symlink;
    the entries themselves are not checked (read each through this module)."""
    parts = parts_of(relative)
    with _parent_dir(root, parts) as parent:
        try:
            fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise _refusal(exc, "/".join(parts)) from exc
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def exists_regular(root: Path, relative: str | PurePosixPath | Path) -> bool:
    """Whether `root/relative` is a regular file reached without a symlink."""
    try:
        os.close(open_regular(root, relative))
    except OSError:
        return False
    return True


@dataclass
class TreeLimits:
    """Caps on a tree that may have been written by untrusted code."""

    max_bytes: int = 2 * GiB
    max_files: int = 100_000


# The caps on a work dir, read at each use (tests lower them): the copy of the user's project
# at intake and every work dir after each sandboxed run. Far above any project one repairs
# (a large Java build is ~20k files), far below what fills a disk or slows every copy.
WORKSPACE_LIMITS = TreeLimits(max_bytes=1 * GiB, max_files=50_000)
# How a run that left its work dir over the caps is reported (TestRun.violation starts so).
WORKSPACE_LIMIT = "workspace size limit"


@dataclass
class TreeSize:
    bytes: int = 0
    files: int = 0  # every entry: files, directories, links

    def check(self, limits: TreeLimits, what: str) -> None:
        if self.files > limits.max_files:
            raise TooLarge(f"{what} holds more than {limits.max_files} files")
        if self.bytes > limits.max_bytes:
            raise TooLarge(f"{what} holds more than {_amount(limits.max_bytes)}")


def _amount(size: int) -> str:
    """`size` bytes in the largest unit it fills (caps are round numbers of them)."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if size >= unit:
            return f"{size / unit:g} {name}"
    return f"{size} bytes"


def _entries(directory: Path, ignore: Callable[[str], bool]) -> Iterator[os.DirEntry[str]]:
    with os.scandir(directory) as entries:
        yield from sorted((e for e in entries if not ignore(e.name)), key=lambda e: e.name)


def measure_tree(root: Path, limits: TreeLimits, what: str, ignore: Callable[[str], bool] = lambda _: False) -> TreeSize:
    """Size and entry count of `root`, not following links; raises `TooLarge` as soon as
    either cap is passed, so a tree of a million files costs no more than the cap."""
    size = TreeSize()
    pending = [root]
    while pending:
        for entry in _entries(pending.pop(), ignore):
            size.files += 1
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                pending.append(Path(entry.path))
            elif stat.S_ISREG(info.st_mode):
                size.bytes += info.st_size
            size.check(limits, what)
    return size


def workspace_violation(workdir: Path) -> str | None:
    """The violation of a run that left `workdir` over `WORKSPACE_LIMITS`, else None. Stops
    counting at the cap, so it costs at most one walk of a tree of capped size."""
    try:
        measure_tree(workdir, WORKSPACE_LIMITS, "the work dir")
    except TooLarge as exc:
        return f"{WORKSPACE_LIMIT}: {exc}"
    return None


def copy_tree(
    source: Path, target: Path, limits: TreeLimits, what: str, ignore: Callable[[str], bool] = lambda _: False
) -> TreeSize:
    """Copy `source` to the new dir `target`: regular files (with their mode bits) and
    directories; symlinks are recreated as links, never followed; FIFOs, sockets and devices
    are left out. `ignore(name)` skips entries by name. Raises `TooLarge` past `limits`.
    Files keep their modification times: build tools (Maven, the javac runner's jar stamps,
    pytest's bytecode cache) decide what is stale by them."""
    size = TreeSize()
    target.mkdir(parents=True)
    pending = [(source, target)]
    while pending:
        from_dir, to_dir = pending.pop()
        for entry in _entries(from_dir, ignore):
            info = entry.stat(follow_symlinks=False)
            destination = to_dir / entry.name
            size.files += 1
            if stat.S_ISDIR(info.st_mode):
                destination.mkdir()
                pending.append((Path(entry.path), destination))
            elif stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(entry.path), destination)
            elif stat.S_ISREG(info.st_mode):
                size.bytes += info.st_size
                size.check(limits, what)
                _copy_file(Path(entry.path), destination, info)
            size.check(limits, what)
    return size


def _copy_file(source: Path, target: Path, info: os.stat_result) -> None:
    """Copy one file opened without following a link (it may have been swapped since the
    scan); the copy is created fresh, so it can never be a link itself."""
    src = os.open(source, os.O_RDONLY | _FILE_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(src).st_mode):
            return
        os.set_blocking(src, True)
        mode = stat.S_IMODE(info.st_mode) & 0o777
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, mode)
        try:
            while os.sendfile(dst, src, None, 16 * MiB):
                pass
            os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(dst)
    finally:
        os.close(src)

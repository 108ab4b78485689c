"""Atomic publishing of files: a reader sees the old bytes or the new ones, never a mix."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> bool:
    """Given a path and bytes, make the file hold exactly them; return False if it already did.

    Temp file in the same folder, fsync, rename over the old one, fsync the folder.
    """
    tmp = stage(path, data, mode)
    if tmp is None:
        return False
    try:
        settle({path: tmp})
    except BaseException:
        discard({path: tmp})
        raise
    return True


def stage(path: str, data: bytes, mode: int = 0o644) -> str | None:
    """Given a path and bytes, write them to a temp file next to it (synced to disk) and return the
    temp file's name, or None when the file already holds exactly them; raise OSError (nothing left)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        with open(path, "rb") as current:
            if current.read(len(data) + 1) == data:
                return None
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def settle(staged: Mapping[str, str]) -> None:
    """Given staged temp files by the path each is for, rename each over its path and sync the folders."""
    for path, tmp in staged.items():
        os.replace(tmp, path)
    for folder in {os.path.dirname(os.path.abspath(p)) for p in staged}:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def discard(staged: Mapping[str, str]) -> None:
    """Given staged temp files, remove those still there."""
    for tmp in staged.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)

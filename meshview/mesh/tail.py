"""Following a growing log file across rotation, by byte offset (pure Python).

A rename (logrotate's default) shows as a new inode at the path: the old file is read to its
end first, then the new one from its start. A truncation (copytruncate) shows as a file shorter
than the offset: reading restarts at 0. Only whole lines are returned, so the offset after a
batch is always a line boundary and can be saved to resume after a restart.
"""

import os
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO


class Follower:
    def __init__(self, path: str, inode: int | None = None, offset: int = 0, poll_seconds: float = 0.25) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.file: BinaryIO | None = None
        self.inode = 0
        self.offset = 0
        self._open(resume_inode=inode, resume_offset=offset)

    def _open(self, resume_inode: int | None = None, resume_offset: int = 0) -> bool:
        try:
            file = open(self.path, "rb")  # noqa: SIM115  (kept open while following)
        except FileNotFoundError:
            return False
        stat = os.fstat(file.fileno())
        self.file, self.inode = file, stat.st_ino
        # Resume only in the same file, and only if it has not been truncated below the offset.
        self.offset = resume_offset if resume_inode == stat.st_ino and stat.st_size >= resume_offset else 0
        file.seek(self.offset)
        return True

    def read_lines(self, max_lines: int) -> list[str]:
        """Return up to `max_lines` whole lines available now (possibly none)."""
        if self.file is None and not self._open():
            return []
        assert self.file is not None
        lines: list[str] = []
        while len(lines) < max_lines:
            position = self.file.tell()
            raw = self.file.readline()
            if not raw.endswith(b"\n"):
                self.file.seek(position)  # a partial line: wait for the rest
                break
            lines.append(raw.decode("utf-8", errors="replace"))
            self.offset = self.file.tell()
        if not lines:
            self._check_rotation()
        return lines

    def _check_rotation(self) -> None:
        assert self.file is not None
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return  # rotated away and not yet recreated: keep the old file open
        if stat.st_ino != self.inode:
            self.file.close()
            self._open()
        elif stat.st_size < self.offset:
            self.file.seek(0)
            self.offset = 0

    def follow(self, batch_lines: int, stop: Callable[[], bool]) -> Iterator[list[str]]:
        """Yield batches of whole lines as the file grows, until `stop()` is true."""
        while not stop():
            lines = self.read_lines(batch_lines)
            if lines:
                yield lines
            else:
                time.sleep(self.poll_seconds)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

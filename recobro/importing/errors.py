"""The two ways an import goes wrong: the whole file is refused, or one row is rejected."""

from __future__ import annotations

from dataclasses import dataclass


class FileRefused(Exception):
    """The file cannot be read at all (empty, binary, missing required column): nothing is written.

    ``code`` is stable for scripts; ``message`` is for people, Spanish first then English.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was rejected: its physical line (header = 1), the column, the cell, the reason."""

    line: int
    column: str
    value: str
    reason: str

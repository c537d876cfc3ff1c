"""What a bad file or a bad row produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kameng.exceptions import DomainError


class FileRejected(DomainError):
    """The whole file is unusable (wrong type, encoding, columns, size...):
    nothing was written."""

    code = "catalog_import_file_rejected"


class ImportStateError(DomainError):
    """The batch is not in a state that allows this step (e.g. committed twice)."""

    code = "catalog_import_state"


@dataclass(frozen=True)
class RowError:
    """One row that was not imported: its line/row number as the operator sees it
    in the file, the field, and why. `kind` is "rejected" or "duplicate"."""

    row: int
    field: str
    reason: str
    kind: str = "rejected"

    def as_dict(self) -> dict:
        return asdict(self)

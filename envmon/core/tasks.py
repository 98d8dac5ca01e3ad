"""What every domain's scheduled pull task does with its runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envmon.core.errors import SourceError

if TYPE_CHECKING:  # the ledger imports pyarrow; task modules stay light to import
    from envmon.core.ledger import RunRecord


def summarise_or_fail(records: list[RunRecord], **context: str) -> dict:
    """The runs as a small dict for XCom; a failed or incomplete batch fails the task.

    Failing the task makes Airflow retry it and the operators hear of it
    (on_failure_callback); what loaded stays loaded.
    """
    bad = [r for r in records if r.status in ("failed", "incomplete")]
    if bad:
        raise SourceError("; ".join(f"{', '.join(r.files)}: {r.status}: {r.message}"
                                    for r in bad))
    return {**context,
            "runs": [{"run_id": r.run_id, "status": r.status, "loaded": r.rows_loaded,
                      "quarantined": r.rows_quarantined} for r in records]}

"""Apply a dataset's expectation suite to a batch and split good rows from bad.

Great Expectations runs on the pandas frame (its SQL path fails on DuckDB in
GX 1.x), from an ephemeral context created once per process. It is imported
inside functions: the import alone takes seconds, and DAG files must parse
fast.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from envmon.core.atomic import write_bytes_atomic
from envmon.core.settings import CHECKS_DIR, home

_LOCK = threading.Lock()
_CONTEXTS: dict[Path, Any] = {}


@dataclass(frozen=True)
class Expectation:
    kind: str  # row | batch | fatal
    name: str
    kwargs: dict
    message: str = ""
    field: str = ""  # the field a quarantine row names, when not the (first) column

    def column(self) -> str | None:
        return self.kwargs.get("column") or self.kwargs.get("column_A")

    def describe(self) -> str:
        shown = {k: v for k, v in self.kwargs.items() if k not in ("column", "column_list")}
        subject = self.kwargs.get("column") or ",".join(self.kwargs.get("column_list", []))
        args = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
        return f"{self.name}({subject}{', ' + args if args else ''})"


@dataclass
class CheckOutcome:
    """`good` keeps the input's columns; `bad` adds _check, _reason, _field."""

    good: pd.DataFrame
    bad: pd.DataFrame
    batch_failures: list[str] = field(default_factory=list)
    fatal_failures: list[str] = field(default_factory=list)
    result_path: Path | None = None

    @property
    def success(self) -> bool:
        return self.bad.empty and not self.batch_failures and not self.fatal_failures


@cache
def load_suite(dataset: str) -> tuple[Expectation, ...]:
    spec = yaml.safe_load((CHECKS_DIR / f"{dataset}.yaml").read_text(encoding="utf-8"))
    return tuple(
        Expectation(kind=kind, name=item["expectation"], kwargs=dict(item["kwargs"]),
                    message=item.get("message", ""), field=item.get("field", ""))
        for kind in ("row", "batch", "fatal") for item in spec.get(kind, []))


def resolve(expectations: tuple[Expectation, ...], params: dict[str, Any]) -> list[Expectation]:
    """Fill "$name" parameters; drop expectations whose parameters are unknown."""
    out = []
    for exp in expectations:
        kwargs, known = {}, True
        for key, value in exp.kwargs.items():
            if isinstance(value, str) and value.startswith("$"):
                value = params.get(value[1:])
                known = known and value is not None
            kwargs[key] = value
        if known:
            out.append(Expectation(exp.kind, exp.name, kwargs, exp.message, exp.field))
    return out


def validate(dataset: str, frame: pd.DataFrame, *, run_id: str,
             params: dict[str, Any] | None = None, data_docs: bool = True) -> CheckOutcome:
    """Validate `frame` against checks/<dataset>.yaml.

    The GX result is kept as JSON under ENVMON_HOME/validations and, when
    `data_docs` is on, rendered into the Data Docs site under ENVMON_HOME.
    """
    return validate_many(dataset, [frame], run_ids=[run_id], params=[params or {}],
                         data_docs=data_docs)[0]


def validate_many(dataset: str, frames: list[pd.DataFrame], *, run_ids: list[str],
                  params: list[dict[str, Any]], data_docs: bool = True) -> list[CheckOutcome]:
    """Validate several deliveries, one outcome each, in as few GX runs as possible.

    Row checks of deliveries whose parameters resolve them alike run once
    over the deliveries together; a `_delivery` column tells the rows apart
    (suites put it in their uniqueness checks: a key may repeat across
    deliveries, a correction and its original). Batch and fatal checks judge
    one delivery as a whole, so they run per delivery, and only when the
    delivery has something for them to judge.
    """
    suite = load_suite(dataset)
    frames = [_gx_ready(f.reset_index(drop=True)).assign(_delivery=i)
              for i, f in enumerate(frames)]
    outcomes: list[CheckOutcome] = [None] * len(frames)  # type: ignore[list-item]
    groups: dict[str, tuple[list[Expectation], list[int]]] = {}
    for i, p in enumerate(params):
        rows = [e for e in resolve(suite, p) if e.kind == "row"]
        groups.setdefault(repr(rows), (rows, []))[1].append(i)
    for rows, members in groups.values():
        together = pd.concat([frames[i] for i in members], ignore_index=True)
        checked = _check(dataset, together, rows, run_id=run_ids[members[0]],
                         data_docs=data_docs)
        offset = 0
        for i in members:
            outcomes[i] = CheckOutcome(
                good=_of_delivery(checked.good, i, offset),
                bad=_of_delivery(checked.bad, i, offset), result_path=checked.result_path)
            offset += len(frames[i])
    for i, p in enumerate(params):
        whole = [e for e in resolve(suite, p)
                 if e.kind != "row" and _has_values(frames[i], e.column())]
        if not whole or frames[i].empty:
            continue
        judged = _check(dataset, frames[i], whole, run_id=f"{run_ids[i]}-delivery",
                        data_docs=data_docs)
        outcomes[i].batch_failures = judged.batch_failures
        if judged.fatal_failures:
            outcomes[i] = _refuse_all(frames[i].drop(columns="_delivery"), judged)
    return outcomes


def _gx_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """GX compares naive datetime columns vectorised only at nanosecond
    resolution; pandas 3 parses to microseconds, which sends GX's between
    check through a Python loop per value (3x slower on a national file)."""
    naive = {c: "datetime64[ns]" for c, t in frame.dtypes.items()
             if pd.api.types.is_datetime64_dtype(t) and not isinstance(t, pd.DatetimeTZDtype)
             and t != "datetime64[ns]"}
    return frame.astype(naive) if naive else frame


def _of_delivery(frame: pd.DataFrame, delivery: int, offset: int) -> pd.DataFrame:
    """The rows of one delivery, indexed by their position in its own frame."""
    rows = frame[frame["_delivery"] == delivery].drop(columns="_delivery")
    return rows.set_axis(rows.index - offset)


def _refuse_all(frame: pd.DataFrame, judged: CheckOutcome) -> CheckOutcome:
    reason = " + ".join(judged.fatal_failures)
    bad = _with_reasons(frame, [reason] * len(frame), ["fatal"] * len(frame), [""] * len(frame))
    return CheckOutcome(good=frame.iloc[0:0], bad=bad, batch_failures=judged.batch_failures,
                        fatal_failures=judged.fatal_failures, result_path=judged.result_path)


def _check(dataset: str, frame: pd.DataFrame, expectations: list[Expectation], *, run_id: str,
           data_docs: bool) -> CheckOutcome:
    if frame.empty or not expectations:
        return CheckOutcome(good=frame, bad=_with_reasons(frame.iloc[0:0], [], [], []))
    result = _run_gx(dataset, frame, expectations, run_id=run_id, data_docs=data_docs)
    outcome = _split(frame, expectations, result)
    outcome.result_path = _keep_result(dataset, run_id, result)
    return outcome


def _has_values(frame: pd.DataFrame, column: str | None) -> bool:
    """A statistic over a column with no values has nothing to judge (OpenAQ
    pulls of PM sensors carry no CO, say), so that expectation is skipped."""
    return column is None or (column in frame and bool(frame[column].notna().any()))


def _split(frame: pd.DataFrame, expectations: list[Expectation], result: Any) -> CheckOutcome:
    reasons: dict[int, list[tuple[str, str, str]]] = {}
    batch, fatal = [], []
    for res in result.results:
        if res.success:
            continue
        raised = (res.exception_info or {}).get("raised_exception")
        if raised:
            raise RuntimeError(f"expectation {res.expectation_config.type} could not run: "
                               f"{(res.exception_info or {}).get('exception_message')}")
        # GX reorders results; the index we put in meta finds the expectation.
        exp = expectations[int(res.expectation_config.meta["envmon_index"])]
        if exp.kind == "row":
            for idx in res.result.get("unexpected_index_list") or []:
                idx = idx if isinstance(idx, int) else idx.get("index", idx)
                reasons.setdefault(int(idx), []).append(
                    (exp.name, exp.message or exp.describe(), exp.field or exp.column() or ""))
        else:
            observed = res.result.get("observed_value")
            text = f"{exp.message or exp.describe()} (observed {_short(observed)})"
            (batch if exp.kind == "batch" else fatal).append(text)
    if fatal:
        return _refuse_all(frame, CheckOutcome(good=frame, bad=frame.iloc[0:0],
                                               batch_failures=batch, fatal_failures=fatal))
    bad_idx = sorted(reasons)
    bad = frame.loc[bad_idx]
    bad = _with_reasons(
        bad,
        ["; ".join(d for _, d, _ in reasons[i]) for i in bad_idx],
        [",".join(n for n, _, _ in reasons[i]) for i in bad_idx],
        [reasons[i][0][2] for i in bad_idx])
    good = frame.drop(index=bad_idx)
    return CheckOutcome(good=good, bad=bad, batch_failures=batch)


def _with_reasons(frame: pd.DataFrame, reasons: list[str], checks: list[str],
                  fields: list[str]) -> pd.DataFrame:
    return frame.assign(_reason=pd.Series(reasons, index=frame.index, dtype="str"),
                        _check=pd.Series(checks, index=frame.index, dtype="str"),
                        _field=pd.Series(fields, index=frame.index, dtype="str"))


def _run_gx(dataset: str, frame: pd.DataFrame, expectations: list[Expectation], *,
            run_id: str, data_docs: bool) -> Any:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    with _LOCK:
        context = _context()
        batch_def = _batch_definition(context, dataset)
        name = f"{dataset}-{run_id}"
        suite = gx.ExpectationSuite(name=name, expectations=[
            ExpectationConfiguration(type=e.name, kwargs=e.kwargs,
                                     meta={"envmon_index": i}).to_domain_obj()
            for i, e in enumerate(expectations)])
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
        actions = [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["envmon"])]
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition],
            actions=actions if data_docs else [],
            result_format={"result_format": "COMPLETE"}))
        try:
            run = checkpoint.run(batch_parameters={"dataframe": frame},
                                 run_id=RunIdentifier(run_name=run_id))
        finally:
            context.checkpoints.delete(name)
            context.validation_definitions.delete(name)
            context.suites.delete(name)
        return next(iter(run.run_results.values()))


def _context() -> Any:
    """One ephemeral context per ENVMON_HOME, with Data Docs at a fixed place."""
    import great_expectations as gx

    docs = home().data_docs
    if docs not in _CONTEXTS:
        context = gx.get_context(mode="ephemeral")
        # Progress bars would otherwise fill scheduler logs.
        context.variables.progress_bars = {"globally": False}
        context.add_data_docs_site(site_name="envmon", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
        context.data_sources.add_pandas("envmon")
        _CONTEXTS[docs] = context
    return _CONTEXTS[docs]


def _batch_definition(context: Any, dataset: str) -> Any:
    source = context.data_sources.get("envmon")
    try:
        asset = source.get_asset(dataset)
    except LookupError:
        asset = source.add_dataframe_asset(dataset)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _keep_result(dataset: str, run_id: str, result: Any) -> Path:
    path = home().validations / dataset / f"{run_id}.json"
    payload = json.dumps(result.to_json_dict(), ensure_ascii=False, default=str)
    write_bytes_atomic(path, payload.encode())
    return path


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."

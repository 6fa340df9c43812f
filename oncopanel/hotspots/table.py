"""The hotspot table: one row per sample and hotspot (a TSV per sample; the run's samples in one Parquet table)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path

from oncopanel.errors import InputError
from oncopanel.model import HotspotResult

RESULT_COLUMNS = ["sample_id"] + [f.name for f in fields(HotspotResult)]
_FLOAT_COLUMNS = ("vaf", "vaf_ci_low", "vaf_ci_high", "lod")


def _rows(results: Mapping[str, Sequence[HotspotResult]] | Sequence[HotspotResult], sample_id: str) -> list[dict]:
    by_sample = results if isinstance(results, Mapping) else {sample_id: results}
    return [{"sample_id": s, **asdict(r)} for s, rs in by_sample.items() for r in rs]


def _tsv_cell(value: object) -> str:
    # the text pandas' to_csv gave before (shortest round-trip float text, empty for missing): tables stay comparable
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def write_hotspot_table(
    results: Mapping[str, Sequence[HotspotResult]] | Sequence[HotspotResult],
    tsv_path: Path | str,
    *,
    sample_id: str = "",
) -> None:
    """One row per sample and hotspot; results: one sample's list (named by sample_id) or {sample: list}.

    Written with the csv module: this runs once per sample (rule calling_finalize), and pandas or pyarrow cost more
    CPU to import than the hotspot genotyping itself. The Parquet copy is the batch's, from these files
    (write_hotspot_parquet)."""
    import csv

    rows = _rows(results, sample_id)
    Path(tsv_path).parent.mkdir(parents=True, exist_ok=True)
    with open(tsv_path, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(RESULT_COLUMNS)
        writer.writerows([_tsv_cell(row[c]) for c in RESULT_COLUMNS] for row in rows)


def write_hotspot_parquet(tsv_paths: Iterable[Path | str], parquet_path: Path | str) -> None:
    """The hotspot tables of a run's samples (write_hotspot_table's TSVs) as one Parquet table, every column typed:
    pyarrow's CSV reader over each file, so the run imports pyarrow once (rule batch_summary), not once a sample."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    types = {"depth": pa.int64(), "alt_count": pa.int64(), **dict.fromkeys(_FLOAT_COLUMNS, pa.float64())}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in RESULT_COLUMNS])
    tables = [
        pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(delimiter="\t", newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types=dict(zip(schema.names, schema.types, strict=True))),
        )
        for path in tsv_paths
    ]
    Path(parquet_path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables(tables) if tables else schema.empty_table(), parquet_path)


def read_hotspot_table(path: Path | str) -> dict[str, list[HotspotResult]]:
    """{sample_id: results} from a table written by write_hotspot_table (TSV or Parquet, by suffix)."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(
            path,
            sep="\t",
            dtype={"sample_id": str, "observed": str, "reason": str, "cause": str},
            keep_default_na=False,
            na_values={c: [""] for c in _FLOAT_COLUMNS},
        )
    missing = set(RESULT_COLUMNS) - set(df.columns) - {"cause"}
    if missing:
        raise InputError(f"{path}: not a hotspot table (missing columns {sorted(missing)})")
    out: dict[str, list[HotspotResult]] = defaultdict(list)
    for row in df.to_dict("records"):
        values = {k: row.get(k, "") for k in RESULT_COLUMNS[1:]}  # cause: tables before it have none
        for k in _FLOAT_COLUMNS:
            values[k] = None if values[k] is None or math.isnan(values[k]) else float(values[k])
        values["depth"], values["alt_count"] = int(values["depth"]), int(values["alt_count"])
        values["observed"], values["reason"] = str(values["observed"] or ""), str(values["reason"] or "")
        values["cause"] = str(values["cause"]) if values["cause"] else None
        out[str(row["sample_id"])].append(HotspotResult(**values))
    return dict(out)


def results_by_id(results: Iterable[HotspotResult]) -> dict[str, HotspotResult]:
    return {r.hotspot_id: r for r in results}

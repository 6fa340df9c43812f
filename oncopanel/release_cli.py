"""`oncopanel amend`: release a re-run's result over a final one, as an amendment with its reason."""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

from oncopanel.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    amend = sub.add_parser(
        "amend",
        help="release the pending re-run result of a sample as an amended report (the old version is kept)",
        description="A released result changes only by amendment: after a re-run whose draft differs from the "
        "released result (batch/status.json says 'pending amendment'), this releases that draft as the next "
        "version, with the reason printed on the report; every earlier version stays under release/<sample>/. "
        "Example: oncopanel amend --results results/B01 --sample S0042 --reason 'BRCA2 call confirmed by MLPA'",
    )
    amend.add_argument("--results", type=Path, required=True, help="the batch's results directory")
    amend.add_argument("--sample", required=True, help="the sample id (pseudonym)")
    amend.add_argument("--reason", required=True, help="why the report is amended (printed on it)")
    amend.add_argument(
        "--configfile", type=Path, nargs="+", default=[Path("config/config.yaml")],
        help="the workflow's configuration file(s), for the centre and the identity manifest (default: %(default)s)",
    )  # fmt: skip
    amend.set_defaults(func=_amend)


def _amend(args: argparse.Namespace) -> int:
    from oncopanel.deliver import render_report
    from oncopanel.release import Release, draft_paths
    from oncopanel.report import load_identity_manifest
    from oncopanel.settings import load_config

    config = load_config(args.configfile)  # the settings layer, as the workflow checks it
    if not args.reason.strip():
        raise InputError("amend: --reason must say why the report is amended")
    record = Release(args.results, args.sample)
    if not record.current:
        raise InputError(f"sample {args.sample}: nothing released in {args.results} yet (run the workflow)")
    if not record.index.get("pending"):
        released = record.current["version"]
        raise InputError(f"sample {args.sample}: no pending re-run result differs from released v{released}")
    draft = {k: Path(v) for k, v in draft_paths(args.results, args.sample).items()}
    result = json.loads(draft["result"].read_text())
    identities = load_identity_manifest(config["identity"]) if config.get("identity") else {}
    centre = config.get("centre", {})
    render = partial(render_report, language=result["sample"]["language"] or centre.get("language", "en"),
                     centre=centre, identity=identities.get(args.sample))  # fmt: skip
    outcome = record.offer(draft, render, Path(args.results) / "audit.log", amend_reason=args.reason.strip())
    print(f"{args.sample}: released v{outcome.version} (amends v{outcome.version - 1}: {args.reason.strip()})")
    return 0

"""`oncopanel reference ...`: build the embedded masked reference, checksum a reference, write target BEDs."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from oncopanel.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    ref = sub.add_parser("reference", help="prepare references and target BEDs")
    rsub = ref.add_subparsers(dest="reference_command", required=True)

    prep = rsub.add_parser("prepare", help="build the masked GRCh38, or index a full GRCh38 for the workflow")
    prep.add_argument("--masked", action="store_true", help="build the embedded panel-masked GRCh38")
    prep.add_argument("--fasta", type=Path, help="a full GRCh38 FASTA (plain or bgzip) to index")
    prep.add_argument("--out", type=Path, default=Path("resources/reference/grch38_panel_masked.fa.gz"),
                      help="where --masked writes the bgzipped FASTA (with .fai and .gzi)")  # fmt: skip
    prep.add_argument("--aligner", choices=["minimap2", "bwa"], default="minimap2",
                      help="which aligner's index --fasta builds (config key aligner)")  # fmt: skip
    prep.add_argument("--index-dir", type=Path, default=Path("resources/index"),
                      help="where the index goes (config key index_dir)")  # fmt: skip
    prep.add_argument("--threads", type=int, default=2, help="threads for indexing")
    prep.set_defaults(func=_prepare)

    cks = rsub.add_parser("checksums", help="per-contig MD5 (the SAM M5 tag) of a FASTA, as JSON")
    cks.add_argument("fasta", type=Path, help="the FASTA (plain or bgzip, with .fai)")
    cks.add_argument("--out", type=Path, required=True, help="the JSON to write")
    cks.set_defaults(func=_checksums)

    tgt = rsub.add_parser("targets", help="target BED (coding exons ± padding) of one or more panels")
    tgt.add_argument("--panels", required=True, help="comma-separated panel names")
    tgt.add_argument("--out", type=Path, required=True, help="the BED to write")
    tgt.set_defaults(func=_targets)


def _prepare(args: argparse.Namespace) -> int:
    from oncopanel.reference import write_masked_reference

    if args.masked:
        md5s = write_masked_reference(args.out, threads=args.threads)
        print(json.dumps({"fasta": str(args.out), "md5": md5s}, indent=2))
        return 0
    if not args.fasta:
        raise InputError("reference prepare: give --masked or --fasta PATH")
    fasta = args.fasta
    if not Path(f"{fasta}.fai").exists():
        subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    name = fasta.name.removesuffix(".gz").removesuffix(".fa").removesuffix(".fasta")
    args.index_dir.mkdir(parents=True, exist_ok=True)
    if args.aligner == "minimap2":
        subprocess.run(
            ["minimap2", "-x", "sr", "-t", str(args.threads), "-d", str(args.index_dir / f"{name}.mmi"), str(fasta)],
            check=True,
        )
    else:
        (args.index_dir / "bwa").mkdir(exist_ok=True)
        subprocess.run(["bwa", "index", "-p", str(args.index_dir / "bwa" / name), str(fasta)], check=True)
    print(f"indexed {fasta} for {args.aligner} under {args.index_dir}")
    return 0


def _checksums(args: argparse.Namespace) -> int:
    from oncopanel.provenance import fasta_checksums

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fasta_checksums(args.fasta), indent=2) + "\n")
    return 0


def _targets(args: argparse.Namespace) -> int:
    from oncopanel.panels import load_panels, write_target_bed

    names = [p.strip() for p in args.panels.split(",") if p.strip()]
    unknown = [n for n in names if n not in load_panels()]
    if unknown:
        raise InputError(f"unknown panel(s): {', '.join(unknown)}")
    write_target_bed(names, args.out)
    return 0

"""One consensus read from the reads of one molecule family.

Single strand: at each position every read's base votes with its quality (bases below ``min_input_base_quality``
do not vote; qualities above ``max_input_base_quality`` count as that). The consensus base is the one of highest
likelihood; its error is the posterior probability that another base is the true one, plus ``pcr_error_rate``
(an error of the first PCR cycle is in every copy, and no vote can remove it). Quality = -10 log10(error), capped
at ``max_consensus_quality``; below ``min_consensus_quality`` the base is written as N.

Duplex: the two strands' consensus bases agreeing give the sum of their qualities (both strands would need the
same error), capped at ``max_duplex_quality``; disagreeing give N: one strand carries an error, or damage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from oncopanel.umi.settings import ConsensusSettings

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
N_QUAL = 2  # quality written with an N (SAM has no "no quality" for one base)


@dataclass(frozen=True)
class FamilyConsensus:
    seq: str
    qual: tuple[int, ...]
    reads: int  # read pairs behind it (both strands for a duplex read)
    duplex: bool = False


def _phred(error: np.ndarray) -> np.ndarray:
    return -10.0 * np.log10(np.maximum(error, 1e-12))


def strand_consensus(seqs: Sequence[str], quals: Sequence[Sequence[int]], s: ConsensusSettings) -> FamilyConsensus:
    """Consensus of reads of equal length aligned alike (one strand of one molecule)."""
    n = len(seqs)
    length = len(seqs[0])
    if any(len(x) != length for x in seqs) or any(len(q) != length for q in quals):
        raise ValueError("consensus needs reads of one length and alignment")
    bases = np.frombuffer("".join(seqs).encode(), dtype=np.uint8).reshape(n, length)
    q = np.minimum(np.asarray(quals, dtype=float).reshape(n, length), s.max_input_base_quality)
    votes = (q >= s.min_input_base_quality) & np.isin(bases, _BASES)
    err = np.power(10.0, -q / 10.0)
    # log-likelihood of each true base: a read showing it was right (1 - e), one showing another was wrong (e / 3)
    right, wrong = np.log(1.0 - np.minimum(err, 0.75)), np.log(err / 3.0)
    ll = np.zeros((4, length))
    for k, b in enumerate(_BASES):
        ll[k] = np.where(votes, np.where(bases == b, right, wrong), 0.0).sum(axis=0)
    best = ll.argmax(axis=0)
    post = np.exp(ll - ll.max(axis=0))
    p_best = 1.0 / post.sum(axis=0)
    error = (1.0 - p_best) + s.pcr_error_rate
    cq = np.minimum(np.round(_phred(error)), s.max_consensus_quality).astype(int)
    seq = _BASES[best].copy()
    masked = (cq < s.min_consensus_quality) | (votes.sum(axis=0) == 0)
    seq[masked] = ord("N")
    cq[masked] = N_QUAL
    return FamilyConsensus(seq.tobytes().decode(), tuple(int(x) for x in cq), n)


def duplex_consensus(a: FamilyConsensus, b: FamilyConsensus, s: ConsensusSettings) -> FamilyConsensus:
    """Both strands of one molecule (their consensus reads over the same reference bases)."""
    if len(a.seq) != len(b.seq):
        raise ValueError("duplex consensus needs both strands over the same reference bases")
    out_seq, out_q = [], []
    for x, y, qx, qy in zip(a.seq, b.seq, a.qual, b.qual, strict=True):
        if x == y and x != "N":
            out_seq.append(x)
            out_q.append(min(qx + qy, s.max_duplex_quality))
        else:
            out_seq.append("N")
            out_q.append(N_QUAL)
    return FamilyConsensus("".join(out_seq), tuple(out_q), a.reads + b.reads, duplex=True)

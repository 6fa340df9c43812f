"""Reading c./p. positions for classification, in both the ClinVar and the older ENIGMA spellings."""

import pytest

from oncopanel.classify.hgvs_names import (
    CPosition,
    c_positions,
    canonical_c,
    first_altered_codon,
    stop_codon_position,
)


@pytest.mark.parametrize(
    ("old", "clinvar"),
    [
        ("c.68_69delAG", "c.68_69del"),
        ("NM_000059.3:c.5946delT", "c.5946del"),
        ("c.1175_1214del40", "c.1175_1214del"),
        ("c.5266dupC", "c.5266dup"),
        ("c.215_215delAinsTT", "c.215delinsTT"),
        ("c.4391_4393delinsTT", "c.4391_4393delinsTT"),
        ("c.7397C>T", "c.7397C>T"),
    ],
)
def test_canonical_c(old, clinvar):
    assert canonical_c(old) == clinvar


def test_c_positions():
    assert c_positions("c.4185+1G>A") == (CPosition("4185", 1),)
    assert c_positions("c.-19-2A>G") == (CPosition("-19", -2),)
    assert c_positions("c.5331_5332+1delinsCAACAT") == (CPosition("5331"), CPosition("5332", 1))
    assert c_positions("c.*5C>T")[0].in_utr
    assert c_positions("g.123A>G") == ()


@pytest.mark.parametrize(
    ("hgvs_p", "first", "stop"),
    [
        ("p.(Glu23ValfsTer17)", 23, 39),
        ("p.(Ser1982ArgfsTer22)", 1982, 2003),
        ("p.(Arg1443Ter)", 1443, 1443),
        ("p.R1443*", 1443, 1443),
        ("p.(Gly12Cys)", 12, None),
        ("p.(Glu23fs)", 23, None),
        ("p.(Gln100_Arg101delinsTer)", 100, 100),
        ("p.(Gln100_Arg101delinsGluTer)", 100, 101),
        ("p.(Lys10_Leu11insGluTer)", 10, 12),
        ("p.(Lys10_Leu11insGlu)", 10, None),
        ("p.?", None, None),
    ],
)
def test_protein_positions(hgvs_p, first, stop):
    assert first_altered_codon(hgvs_p) == first
    assert stop_codon_position(hgvs_p) == stop


def test_first_codon_falls_back_to_the_c_name():
    assert first_altered_codon("", "c.68_69del") == 23
    assert first_altered_codon("p.?", "c.80+1G>A") is None

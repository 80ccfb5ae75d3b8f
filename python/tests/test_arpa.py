"""test_arpa.py — ARPA files through the module: a trigram file written
here by hand, each log10 probability computed by hand from the back-off
rule; the same file gzipped; a file without <unk>; and nglm-export's ARPA
of a native model, which must score as the model and as nglm-eval."""
import gzip
import math

import pytest

import nglm
from conftest import close, per_word, report

HAND = """\\data\\
ngram 1=5
ngram 2=4
ngram 3=2

\\1-grams:
-99\t<s>\t-0.5
-0.7\t</s>
-0.6\ta\t-0.3
-0.8\tb\t-0.2
-1.5\t<unk>

\\2-grams:
-0.4\t<s> a\t-0.1
-0.3\ta b\t-0.25
-0.5\tb </s>
-0.9\ta a

\\3-grams:
-0.2\t<s> a b
-0.35\ta b </s>

\\end\\
"""

# "a b": P(a|<s>) listed; P(b|<s> a) listed trigram; P(</s>|a b) trigram
A_B = [(-0.4, 2), (-0.2, 3), (-0.35, 3)]
# "b a": bow(<s>) + P(b); "<s> b" unlisted so bow 0, then bow(b) + P(a);
# "b a" unlisted, bow(a) + P(</s>)
B_A = [(-0.5 - 0.8, 1), (-0.2 - 0.6, 1), (-0.3 - 0.7, 1)]
# "a zzz": zzz is <unk>: bow(<s> a) + bow(a) + P(<unk>); then P(</s>)
A_ZZZ = [(-0.4, 2), (-0.1 - 0.3 - 1.5, 1), (-0.7, 1)]


@pytest.fixture(params=["plain", "gzip"])
def hand(request, tmp_path):
    if request.param == "plain":
        p = tmp_path / "hand.arpa"
        p.write_text(HAND)
    else:
        p = tmp_path / "hand.arpa.gz"
        with gzip.open(p, "wt") as f:
            f.write(HAND)
    return str(p)


@pytest.mark.parametrize("line,want", [("a b", A_B), ("b a", B_A), ("a zzz", A_ZZZ)])
def test_hand_values(hand, line, want):
    m = nglm.Model(hand)
    assert m.is_arpa and m.order == 3
    got = list(m.full_scores(line))
    assert len(got) == len(want)
    for (lp, n, oov), (lp_want, n_want) in zip(got, want):
        assert close(lp, lp_want, 1e-12) and n == n_want
    assert [oov for _, _, oov in got] == [w == "zzz" for w in line.split()] + [False]
    assert close(m.score(line), sum(x for x, _ in want), 1e-12)
    # word by word
    s, o = nglm.State(), nglm.State()
    m.BeginSentenceWrite(s)
    total = 0.0
    for w in line.split() + ["</s>"]:
        total += m.BaseScore(s, w, o)
        s, o = o, s
    assert close(total, m.score(line), 1e-12)


def test_hand_null_context(hand):
    """No <s>: P(a) alone is -0.6 (no bow(<s>)); then "a b" is the bigram,
    not the trigram "<s> a b"."""
    m = nglm.Model(hand)
    s, o = nglm.State(), nglm.State()
    m.NullContextWrite(s)
    r = m.BaseFullScore(s, "a", o)
    assert close(r.log_prob, -0.6, 1e-12) and r.ngram_length == 1
    r = m.BaseFullScore(o, "b", s)
    assert close(r.log_prob, -0.3, 1e-12) and r.ngram_length == 2
    assert close(m.score("a b", bos=False), -0.6 - 0.3 - 0.35, 1e-12)
    assert "a" in m and "zzz" not in m


def test_hand_report(hand, tmp_path):
    m = nglm.Model(hand)
    p = tmp_path / "two.txt"
    p.write_text("a b\nb a zzz\n")
    r = m.score_file(str(p))
    s2 = -1.3 - 0.8 - 1.8 - 0.7
    assert r["sentences"] == 2 and r["words"] == 5 and r["oovs"] == 1
    assert r["sentence_logprobs"] == pytest.approx([-0.95, s2], abs=1e-12)
    assert close(r["ppl"], 10 ** ((0.95 - s2) / 7), 1e-12)
    assert close(r["ppl1"], 10 ** ((0.95 - s2) / 5), 1e-12)
    ref = report(hand, str(p))
    assert close(r["logprob"], ref["logprob"], 1e-9)


def test_no_unk_skips_oovs(tmp_path):
    """Without <unk> an OOV is skipped (NaN), as nglm-eval and SRILM do."""
    p = tmp_path / "nounk.arpa"
    p.write_text(HAND.replace("ngram 1=5", "ngram 1=4").replace("-1.5\t<unk>\n", ""))
    m = nglm.Model(str(p))
    got = list(m.full_scores("a zzz"))
    assert math.isnan(got[1][0]) and got[1][2] is True
    assert close(m.score("a zzz"), -0.4 - 0.7, 1e-12)
    q = tmp_path / "t.txt"
    q.write_text("a zzz\n")
    r = m.score_file(str(q))
    assert r["oovs"] == 1 and r["oovs_skipped"] and r["scored"] == 2
    sents, totals = per_word(str(p), str(q))
    assert close(totals[0], m.score("a zzz"), 1e-12)


def test_export_scores_as_native(ngram_model, arpa_export, text):
    path, lines = text
    native, arpa = nglm.Model(ngram_model), nglm.Model(arpa_export)
    assert arpa.is_arpa and arpa.order == native.order == 4
    sents, _ = per_word(arpa_export, path)
    for line, toks in zip(lines, sents):
        a, n = list(arpa.full_scores(line)), list(native.full_scores(line))
        assert [x[0] for x in a] == pytest.approx([x[0] for x in n], abs=1e-8)
        assert [x[1:] for x in a] == [x[1:] for x in n]
        assert [x[0] for x in a] == pytest.approx([t[3] for t in toks], abs=1e-10)
        assert [x[1] for x in a] == [t[2] for t in toks]
    r, ref = arpa.score_file(path), report(arpa_export, path)
    assert close(r["logprob"], ref["logprob"], 1e-9) and close(r["ppl"], ref["ppl"], 1e-9)


def test_sample_arpa(hand):
    m = nglm.Model(hand)
    out = m.sample(5, seed=3)
    assert len(out) == 5
    assert all(set(s.split()) <= {"a", "b", "<unk>"} for s in out)

"""test_mix.py — Model.mix scores as nglm-eval --mix: per word, per sentence
and the whole report, for a native model mixed with an ARPA one."""
import pytest

import nglm
from conftest import close, per_word, report


def test_mix_matches_nglm_eval(skip_model, arpa_export, text):
    path, lines = text
    a, b = nglm.Model(skip_model), nglm.Model(arpa_export)
    x = a.mix(b, 0.3)
    assert x.weight == 0.3 and x.a is a and x.b is b and x.order == 4
    sents, totals = per_word(skip_model, path, "--mix", arpa_export, "--lambda", "0.3")
    for line, toks, total in zip(lines, sents, totals):
        got = list(x.full_scores(line))
        assert [g[0] for g in got] == pytest.approx([t[3] for t in toks], abs=1e-10)
        assert [g[1] for g in got] == [t[2] for t in toks]
        assert close(x.score(line), total, 1e-10)
    r = x.score_file(path)
    ref = report(skip_model, path, "--mix", arpa_export, "--lambda", "0.3")
    for k in ("sentences", "words", "oovs", "zeroprobs"):
        assert r[k] == ref[k], k
    for k in ("logprob", "ppl", "ppl1"):
        assert close(r[k], ref[k], 1e-9), k
    assert x.evaluate(lines)["logprob"] == pytest.approx(r["logprob"], abs=1e-9)


def test_mix_extremes(skip_model, ngram_model):
    a, b = nglm.Model(skip_model), nglm.Model(ngram_model)
    line = "zal shast gri"
    assert close(a.mix(b, 1.0).score(line), a.score(line), 1e-12)
    assert close(a.mix(b, 0.0).score(line), b.score(line), 1e-12)

"""test_cache.py — Model.cache_scorer carries nglm-eval --cache's cache
across calls: the sentences of a text scored one call each, in order, get
the numbers nglm-eval --cache --per-word prints for the text (a blank line
emptying the cache in both), and reset() starts afresh.  Model.score stays
cache-free."""
import pytest

import nglm
from conftest import close, per_word, run


@pytest.mark.parametrize("spec,weights,eval_weights", [
    ("decay:100", (0.2, 0.0), "0.2"),
    ("window:50,bigram:100", (0.1, 0.05), "0.1,0.05"),
])
@pytest.mark.parametrize("which", ["skip_model", "arpa_export"])
def test_cache_matches_nglm_eval(request, which, text, spec, weights, eval_weights):
    path, lines = text
    model = request.getfixturevalue(which)
    m = nglm.Model(model)
    sents, totals = per_word(model, path, "--cache", spec, "--cache-lambda", eval_weights)
    c = m.cache_scorer(spec, weight=weights[0], bigram_weight=weights[1])
    assert c.spec == spec and c.weights == weights and c.model is m
    for round in range(2):
        for line, toks, total in zip(lines, sents, totals):
            got = list(c.full_scores(line))
            assert [g[0] for g in got] == pytest.approx([t[3] for t in toks], abs=1e-10)
            assert [g[1] for g in got] == [t[2] for t in toks]
        c.reset()
    for line, total in zip(lines, totals):
        assert close(c.score(line), total, 1e-10)
    # the model itself is untouched by the cache
    assert m.score(lines[10]) != pytest.approx(totals[10], abs=1e-6)


def test_cache_reset_word(skip_model, work):
    m = nglm.Model(skip_model)
    p = work / "docs.txt"
    lines = ["zal shast zal", "zal", "gri zal", "zal shast", "gri zal"]
    p.write_text("\n".join(lines) + "\n")
    sents, totals = per_word(skip_model, str(p), "--cache", "decay:10",
                             "--cache-reset", "gri")
    c = m.cache_scorer("decay:10", reset_word="gri")
    got = [c.score(l) for l in lines]
    assert got == pytest.approx(totals, abs=1e-10)


def test_cache_bad_options(skip_model, arpa_export):
    m = nglm.Model(skip_model)
    with pytest.raises(ValueError, match="unknown kind"):
        m.cache_scorer("lru:5")
    with pytest.raises(ValueError, match="at most 1"):
        m.cache_scorer("decay:10,bigram:10", weight=0.7, bigram_weight=0.5)
    with pytest.raises(ValueError, match="not a word"):
        m.cache_scorer("decay:10", reset_word="nonword")
    with pytest.raises(ValueError, match="records no cache"):
        nglm.Model(arpa_export).cache_scorer("model")
    with pytest.raises(ValueError, match="'<s>' inside"):
        m.cache_scorer().score("<s> zal")


def test_cache_from_the_model(work, text):
    """cache_scorer("model"): the cache nglm-train --eval-cache auto chose
    and recorded, as nglm-eval --cache model uses it."""
    path, lines = text
    model = str(work / "eval_cache.nglm")
    run("nglm-train", "--quiet", "--no-checkpoint", "--order", "3", "--threads", "1",
        "--train", work / "small.train.txt", "--valid", work / "small.valid.txt",
        "--eval-cache", "auto", "--model", model)
    sents, totals = per_word(model, path, "--cache", "model")
    c = nglm.Model(model).cache_scorer("model")
    assert c.weights[0] > 0
    got = [c.score(l) for l in lines]
    assert got == pytest.approx(totals, abs=1e-10)

"""test_mix.py — Model.mix scores as nglm-eval --mix: per word, per sentence
and the whole report, for a native model mixed with an ARPA one."""
import pytest

import nglm
from conftest import close, per_word, report, run, train


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


def test_mix_three_auto(work, skip_model, ngram_model, arpa_export, text, tmp_path):
    """mix() of three models with weight='auto' finds nglm-eval's EM weights
    (--mix given three times, --lambda auto) and scores its report; a
    Mixture written as a manifest opens again as a Model with the same
    scores, and samples."""
    path, lines = text
    valid = str(work / "small.valid.txt")
    bigram = train(work, "bigram.nglm", "--order", "2", "--features", "ngram")
    a, b, c = nglm.Model(skip_model), nglm.Model(arpa_export), nglm.Model(bigram)
    x = a.mix(b, c, weight="auto", heldout=valid)
    assert isinstance(x, nglm.Mixture) and isinstance(x, nglm.Model)
    assert x.models == (a, b, c) and len(x.weights) == 3
    assert abs(sum(x.weights) - 1) < 1e-9
    out = run("nglm-eval", "--mix", skip_model, "--mix", arpa_export, "--mix", bigram,
              "--lambda", "auto", "--heldout", valid, path)
    first = out.splitlines()[0].split()
    assert first[:2] == ["mixture", "weights:"]
    assert [float(w) for w in first[2:5]] == pytest.approx(list(x.weights), abs=1e-6)
    ref = report(skip_model, path, "--mix", arpa_export, "--mix", bigram,
                 "--lambda", ",".join("%.17g" % w for w in x.weights))
    r = x.score_file(path)
    for k in ("sentences", "words", "oovs", "zeroprobs"):
        assert r[k] == ref[k], k
    assert close(r["logprob"], ref["logprob"], 1e-9)
    man = tmp_path / "three.mix"
    x.write(str(man))
    y = nglm.Model(str(man))
    assert close(y.score_file(path)["logprob"], r["logprob"], 1e-12)
    assert y.score(lines[0]) == x.score(lines[0])
    assert len(y.sample(3, seed=2)) == 3
    with pytest.raises(ValueError, match="sum to"):
        a.mix(b, c, weight=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="needs heldout"):
        a.mix(b, weight="auto")
    with pytest.raises(ValueError, match="one weight for 3 models"):
        a.mix(b, c, weight=0.3)

"""test_compat.py — what KenLM scripts and SRILM-style mixing do beyond
scoring: a Model pickles as its path (KenLM's, for multiprocessing), a
Mixture made in memory refuses to; mix(weight="auto") takes held-out
sentences in memory as well as a file, finds the same weights as from the
file and as nglm-eval --lambda auto, and says how many EM updates it made
(nglm-eval's count); bad held-out input is an exception."""
import pickle

import pytest

import nglm
from conftest import run, train


def test_pickle_model(skip_model, arpa_export, text):
    path, lines = text
    for p in (skip_model, arpa_export):
        m = nglm.Model(p)
        m2 = pickle.loads(pickle.dumps(m))
        assert type(m2) is nglm.Model and m2.path == m.path
        assert [m2.score(line) for line in lines] == [m.score(line) for line in lines]


def test_pickle_mixture(skip_model, ngram_model, tmp_path, text):
    path, lines = text
    a, b = nglm.Model(skip_model), nglm.Model(ngram_model)
    x = a.mix(b, 0.3)
    with pytest.raises(TypeError, match="write"):
        pickle.dumps(x)
    man = str(tmp_path / "p.mix")
    x.write(man)
    y = pickle.loads(pickle.dumps(nglm.Model(man)))
    assert y.score(lines[0]) == x.score(lines[0])


def test_auto_weight_from_sentences(work, skip_model, ngram_model):
    valid = str(work / "small.valid.txt")
    lines = open(valid).read().splitlines()
    a, b = nglm.Model(skip_model), nglm.Model(ngram_model)
    x = a.mix(b, weight="auto", heldout=valid)
    y = a.mix(b, weight="auto", heldout=lines)
    z = a.mix(b, weight="auto", heldout=iter(lines))
    assert y.weights == x.weights == z.weights
    assert y.em_iterations == x.em_iterations >= 1
    assert a.mix(b, 0.3).em_iterations is None
    out = run("nglm-eval", "--mix", skip_model, "--mix", ngram_model, "--lambda", "auto",
              "--heldout", valid, valid)
    first = out.splitlines()[0]
    assert first.startswith("mixture weight: ")
    assert float(first.split()[2]) == pytest.approx(x.weight, abs=1e-6)
    assert ", %d iterations)" % x.em_iterations in first


def test_auto_weight_bad_heldout(work, skip_model, ngram_model):
    a, b = nglm.Model(skip_model), nglm.Model(ngram_model)
    with pytest.raises(ValueError, match="no sentences"):
        a.mix(b, weight="auto", heldout=[])
    with pytest.raises(TypeError):
        a.mix(b, weight="auto", heldout=3)
    with pytest.raises(TypeError):
        a.mix(b, weight="auto", heldout=["fine", 7])
    with pytest.raises(ValueError):
        a.mix(b, weight="auto", heldout=[b"\xff\xfe"])
    with pytest.raises(ValueError):
        a.mix(b, weight="auto", heldout=["two\nlines"])
    with pytest.raises(ValueError, match="only with weight='auto'"):
        a.mix(b, 0.5, heldout=["a b"])
    with pytest.raises(ValueError):
        a.mix(b, weight="auto", heldout=str(work / "missing.txt"))

"""test_config.py — KenLM's loading options: nglm.Config, nglm.LoadMethod
and nglm.ARPALoadComplain exist with KenLM's names, numbers and defaults;
Model(path, config) and LanguageModel(path, config) accept every valid
KenLM call and score as Model(path); READ and PARALLEL_READ read an nglm
model into memory (not mapped: the file may then be cut, and a damaged
byte is refused at once), the other methods map it; a bad config is an
exception."""
import os
import shutil

import pytest

import nglm
import nglm as kenlm


def mapped(path):
    """Whether this process maps the file at path."""
    with open("/proc/self/maps") as f:
        return any(line.rstrip("\n").endswith(path) for line in f)


def test_names_and_defaults():
    assert [kenlm.LoadMethod.LAZY, kenlm.LoadMethod.POPULATE_OR_LAZY,
            kenlm.LoadMethod.POPULATE_OR_READ, kenlm.LoadMethod.READ,
            kenlm.LoadMethod.PARALLEL_READ] == [0, 1, 2, 3, 4]
    assert [kenlm.ARPALoadComplain.ALL, kenlm.ARPALoadComplain.EXPECTED,
            kenlm.ARPALoadComplain.NONE] == [0, 1, 2]
    c = kenlm.Config()
    assert c.load_method == kenlm.LoadMethod.POPULATE_OR_READ
    assert c.show_progress is True
    assert c.arpa_complain == kenlm.ARPALoadComplain.ALL
    c.show_progress = 0
    assert c.show_progress is False
    c.arpa_complain = kenlm.ARPALoadComplain.NONE
    c.probing_multiplier = 1.5          # KenLM has more options: kept, ignored
    assert c.probing_multiplier == 1.5
    assert "load_method=2" in repr(kenlm.Config())
    with pytest.raises(TypeError):
        c.load_method = "READ"
    with pytest.raises(TypeError):
        kenlm.Config(1)


@pytest.mark.parametrize("method", range(5))
def test_every_method_scores_alike(skip_model, text, method):
    path, lines = text
    ref = nglm.Model(skip_model)
    c = kenlm.Config()
    c.load_method = method
    for m in (kenlm.Model(skip_model, c), kenlm.LanguageModel(skip_model, config=c)):
        for line in lines[:10]:
            assert m.score(line) == ref.score(line)
            assert list(m.full_scores(line)) == list(ref.full_scores(line))
        assert m.score_file(path)["logprob"] == ref.score_file(path)["logprob"]


def test_other_kinds_accept_every_method(arpa_export, modelm_model, text):
    path, lines = text
    for model in (arpa_export, modelm_model):
        ref = nglm.Model(model)
        for method in range(5):
            c = kenlm.Config()
            c.load_method = method
            m = kenlm.Model(model, c)
            assert m.score(lines[0]) == ref.score(lines[0])


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="no /proc/self/maps")
def test_read_is_not_mapped(skip_model, tmp_path, text):
    path, lines = text
    p = str(tmp_path / "copy.nglm")
    shutil.copyfile(skip_model, p)
    c = kenlm.Config()
    c.load_method = kenlm.LoadMethod.READ
    m = kenlm.Model(p, c)
    assert not mapped(p)
    want = [m.score(line) for line in lines]
    lazy = kenlm.Config()
    lazy.load_method = kenlm.LoadMethod.LAZY
    m2 = kenlm.Model(p, lazy)
    assert mapped(p)
    del m2
    assert not mapped(p)
    with open(p, "r+b") as f:          # cut in place: a mapping would fault
        f.truncate(16)
    assert [m.score(line) for line in lines] == want
    assert m.path == p


def test_read_checks_the_whole_file(skip_model, tmp_path):
    data = bytearray(open(skip_model, "rb").read())
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "bad.nglm"
    p.write_bytes(bytes(data))
    c = kenlm.Config()
    c.load_method = kenlm.LoadMethod.PARALLEL_READ
    with pytest.raises(OSError) as e:
        kenlm.Model(str(p), c)
    assert "bad.nglm" in str(e.value)


def test_read_model_mixes_and_saves(skip_model, ngram_model, tmp_path, text):
    """A model read into memory keeps its path: a mixture of it is saved."""
    path, lines = text
    c = kenlm.Config()
    c.load_method = kenlm.LoadMethod.READ
    a, b = kenlm.Model(skip_model, c), kenlm.Model(ngram_model)
    x = a.mix(b, 0.4)
    man = str(tmp_path / "read.mix")
    x.write(man)
    assert nglm.Model(man).score(lines[0]) == x.score(lines[0])


def test_bad_config(skip_model):
    c = kenlm.Config()
    for bad in (-1, 5, 1 << 20):
        c.load_method = bad
        with pytest.raises(ValueError, match="LoadMethod"):
            kenlm.Model(skip_model, c)
    with pytest.raises(TypeError, match="Config"):
        kenlm.Model(skip_model, {"load_method": 3})
    with pytest.raises(TypeError):
        kenlm.Model(skip_model, kenlm.LoadMethod)
    assert kenlm.Model(skip_model, None).score("a") == kenlm.Model(skip_model).score("a")
    with pytest.raises(FileNotFoundError):
        kenlm.Model(skip_model + ".nope", kenlm.Config())

"""test_train.py — nglm.train: the library's pipeline from Python makes the
model nglm-train makes (the same bytes, with the same options), returns it
ready to score as nglm-eval scores the saved file, and refuses bad options,
missing texts and a model path that would destroy a text or a file nglm did
not write."""
import pytest

import nglm
from conftest import close, report, run


def test_same_model_as_nglm_train(work, text):
    path = str(work / "py_trained.nglm")
    m = nglm.train(str(work / "small.train.txt"), model=path, order=3,
                   valid=str(work / "small.valid.txt"), threads=1)
    ref = str(work / "cli_trained.nglm")
    run("nglm-train", "--quiet", "--no-checkpoint", "--order", "3", "--threads", "1",
        "--train", work / "small.train.txt", "--valid", work / "small.valid.txt",
        "--model", ref)
    assert open(path, "rb").read() == open(ref, "rb").read()
    assert m.order == 3 and m.path == path
    want = report(path, text[0])
    got = m.score_file(text[0])
    assert close(got["logprob"], want["logprob"])


def test_options_and_default_order(work):
    m = nglm.train(str(work / "small.train.txt"), features="ngram", epochs=1,
                   cutoffs="1,2", threads=1)
    assert 2 <= m.order <= 5
    assert m.score("a b c") < 0


def test_refused(work, tmp_path):
    train = str(work / "small.train.txt")
    with pytest.raises(FileNotFoundError):
        nglm.train(str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="^features: "):
        nglm.train(train, features="skip2")
    with pytest.raises(ValueError, match="^cutoffs: "):
        nglm.train(train, cutoffs="3,2")
    with pytest.raises(ValueError, match="init"):
        nglm.train(train, init="random")
    with pytest.raises(ValueError, match="best goes with the Kneser-Ney start"):
        nglm.train(train, best=True, init="zero")
    with pytest.raises(ValueError, match="destroyed"):
        nglm.train(train, model=train)
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    with pytest.raises(FileExistsError):
        nglm.train(train, model=str(other), epochs=1)
    assert other.read_text() == "my notes\n"
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="no sentences"):
        nglm.train(str(empty))


def test_keywords_are_nglm_train_options(work, tmp_path):
    """train()'s keywords come from the option table nglm-train reads: every
    option of --help's Data, Model and Training groups but the program's own
    (--model, --write-vocab) is a keyword, with '_' for '-'."""
    helptext = run("nglm-train", "--help")
    names = set()
    for line in helptext.splitlines():
        if line.startswith("  --"):
            names.add(line.split()[0][2:].replace("-", "_"))
    assert {"order", "max_memory", "skip_cutoff", "eval_cache"} <= names
    for name in names:
        assert name in nglm.train.__doc__ or name in ("model", "write_vocab", "resume",
                                                      "checkpoint_minutes", "no_checkpoint",
                                                      "stop_after", "log", "plot",
                                                      "plot_reference", "plot_label",
                                                      "progress", "quiet", "force")
    train = str(work / "small.train.txt")
    with pytest.raises(TypeError, match="unexpected keyword argument 'frobnicate'"):
        nglm.train(train, frobnicate=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max-memory'"):
        nglm.train(train, **{"max-memory": "1M"})
    with pytest.raises(ValueError, match="^order: 'five' is not an integer$"):
        nglm.train(train, order="five")
    with pytest.raises(ValueError, match=r"^epochs: '-1' is out of range \(0\.\.100000\)$"):
        nglm.train(train, epochs=-1)
    with pytest.raises(ValueError, match="^max_memory: 'lots' is not a size$"):
        nglm.train(train, max_memory="lots")
    with pytest.raises(ValueError, match="^tokenize: 'bogus' is not space, word or char$"):
        nglm.train(train, tokenize="bogus")
    with pytest.raises(TypeError, match="l1 must be a str, int or float"):
        nglm.train(train, l1=[1])


def test_keywords_as_nglm_train_options(work):
    """Numbers given as int, float or nglm-train's text, flags as bools and
    None for a default make the model nglm-train makes with those options."""
    path = str(work / "py_kw.nglm")
    nglm.train(str(work / "small.train.txt"), model=path, order=2, epochs=2,
               features="ngram", batch="auto", skip_cutoff=None, l2=0.25,
               max_memory="64M", lowercase=True, average=False, threads=1, seed="3",
               valid=work / "small.valid.txt")
    ref = str(work / "cli_kw.nglm")
    run("nglm-train", "--quiet", "--no-checkpoint", "--order", "2", "--epochs", "2",
        "--features", "ngram", "--l2", "0.25", "--max-memory", "64M", "--lowercase",
        "--threads", "1", "--seed", "3", "--train", work / "small.train.txt",
        "--valid", work / "small.valid.txt", "--model", ref)
    assert open(path, "rb").read() == open(ref, "rb").read()

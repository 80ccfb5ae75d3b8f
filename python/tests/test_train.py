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
    with pytest.raises(ValueError, match="--features"):
        nglm.train(train, features="skip2")
    with pytest.raises(ValueError, match="--cutoffs"):
        nglm.train(train, cutoffs="3,2")
    with pytest.raises(ValueError, match="init"):
        nglm.train(train, init="random")
    with pytest.raises(ValueError, match="--best"):
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

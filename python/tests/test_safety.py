"""test_safety.py — the module as an adversary uses it (doc/reliability.md):
a State written by one model given to another, a model file with a
damaged byte, and a FIFO given as a model."""
import os
import threading

import pytest

import nglm

from conftest import run, train


def test_state_of_another_model_is_refused(work, skip_model, ngram_model):
    a, b = nglm.Model(skip_model), nglm.Model(ngram_model)
    s, t = nglm.State(), nglm.State()
    a.BeginSentenceWrite(s)
    a.BaseScore(s, "the", t)
    with pytest.raises(ValueError, match="written by another model.*skip.nglm.*ngram.nglm"):
        b.BaseScore(t, "the", s)
    with pytest.raises(ValueError, match="another model"):
        b.BaseFullScore(t, "the", s)
    # a state the other model wrote itself is fine, and so is a fresh one
    b.BeginSentenceWrite(s)
    b.BaseScore(s, "the", t)
    b.BaseScore(nglm.State(), "the", t)
    # copies carry their model
    import copy
    a.BeginSentenceWrite(s)
    with pytest.raises(ValueError, match="another model"):
        b.BaseScore(copy.copy(s), "the", t)


def test_state_of_a_large_model_on_a_tiny_one(work):
    """A State from a model with many words, read by a model of 3 words:
    refused, never an index out of the small model's arrays."""
    big = work / "big.txt"
    big.write_text("".join(" ".join("w%d" % i for i in range(j, 3000, 7)) + "\n"
                           for j in range(7)))
    tiny = work / "tiny.txt"
    tiny.write_text("a b c\nc b a\n")
    run("nglm-train", "--quiet", "--epochs", "1", "--threads", "1", "--train", big,
        "--model", work / "big.nglm", "--order", "3")
    run("nglm-train", "--quiet", "--epochs", "1", "--threads", "1", "--train", tiny,
        "--model", work / "tiny.nglm", "--order", "3")
    mb, mt = nglm.Model(str(work / "big.nglm")), nglm.Model(str(work / "tiny.nglm"))
    s, t = nglm.State(), nglm.State()
    mb.BeginSentenceWrite(s)
    mb.BaseScore(s, "w2999", t)
    mb.BaseScore(t, "w2998", s)
    with pytest.raises(ValueError, match="another model"):
        mt.BaseScore(s, "a", t)


def test_damaged_model_is_refused(work, skip_model, text):
    data = bytearray(open(skip_model, "rb").read())
    ok = nglm.Model(skip_model)
    sentence = text[1][0]
    want = ok.score(sentence)
    refused = same = 0
    for pos in range(40, len(data), max(1, len(data) // 97)):
        d = bytearray(data)
        d[pos] ^= 0x5A
        path = work / "flip.nglm"
        path.write_bytes(d)
        try:
            m = nglm.Model(str(path))
            got = m.score(sentence)
        except (OSError, ValueError) as e:
            assert "flip.nglm" in str(e)
            refused += 1
            continue
        assert got == want, "byte %d changed the score silently" % pos
        same += 1
    assert refused > 0


def test_fifo_model_does_not_block(work):
    fifo = work / "model.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    done = []

    def load():
        try:
            nglm.Model(str(fifo))
        except (OSError, ValueError) as e:
            done.append(str(e))

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(20)
    assert done and "FIFO" in done[0]

"""test_native.py — the module on nglm's own models scores exactly what
nglm-eval prints for the same text (per word, per sentence, whole text),
word by word through States as well as whole sentences, and samples what
nglm-sample draws."""
import copy
import math
import os

import pytest

import nglm
from conftest import close, per_word, report, run


@pytest.mark.parametrize("which", ["skip_model", "ngram_model", "modelm_model"])
def test_full_scores_match_per_word(request, which, text):
    path, lines = text
    model = request.getfixturevalue(which)
    m = nglm.Model(model)
    sents, totals = per_word(model, path)
    assert len(sents) == len(lines)
    for line, toks, total in zip(lines, sents, totals):
        got = list(m.full_scores(line))
        assert len(got) == len(toks)
        for (lp, n, oov), (word, wid, n_ref, lp_ref) in zip(got, toks):
            assert close(lp, lp_ref, 1e-10), (line, word)
            assert n == n_ref, (line, word)
            assert oov == (word not in m and word not in ("</s>", "<unk>"))
        assert close(m.score(line), total, 1e-10)


def test_oov_flags(skip_model):
    m = nglm.Model(skip_model)
    got = list(m.full_scores("xyzzy <unk>"))
    assert [oov for _, _, oov in got] == [True, False, False]
    assert "xyzzy" not in m and "<unk>" not in m and "</s>" in m


@pytest.mark.parametrize("which", ["skip_model", "ngram_model", "modelm_model"])
def test_state_api_matches_sentences(request, which, text):
    """Word by word from BeginSentenceWrite: the scores of the whole
    sentence, for a model whose skip-grams look 3 words back."""
    _, lines = text
    m = nglm.Model(request.getfixturevalue(which))
    s, o = nglm.State(), nglm.State()
    for line in lines:
        want = list(m.full_scores(line))
        m.BeginSentenceWrite(s)
        got = []
        for w in line.split() + ["</s>"]:
            r = m.BaseFullScore(s, w, o)
            got.append((r.log_prob, r.ngram_length, r.oov))
            s, o = o, s
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert close(g[0], w[0], 1e-12) and g[1:] == w[1:]


def test_state_same_object_and_score(skip_model):
    m = nglm.Model(skip_model)
    line = "shast trindsair gri dio zal"
    s = nglm.State()
    m.BeginSentenceWrite(s)
    total = 0.0
    for w in line.split() + ["</s>"]:
        total += m.BaseScore(s, w, s)  # in and out may be one State
    assert close(total, m.score(line), 1e-12)


def test_state_equality_and_copy(skip_model):
    m = nglm.Model(skip_model)
    assert m.history == 3  # order 3, skip-grams up to distance 3
    a, b, t = nglm.State(), nglm.State(), nglm.State()
    m.BeginSentenceWrite(a)
    m.BeginSentenceWrite(b)
    assert a == b and hash(a) == hash(b)
    m.NullContextWrite(b)
    assert a != b
    # after `history` words the sentence start no longer matters
    for w in "zal zal zal".split():
        m.BaseScore(a, w, t)
        a, t = t, a
        m.BaseScore(b, w, t)
        b, t = t, b
    assert a == b and hash(a) == hash(b)
    c = copy.copy(a)
    assert c == a and c is not a
    m.BaseScore(a, "shast", t)
    assert t != c and copy.deepcopy(t) == t


def test_null_context(skip_model):
    """NullContextWrite: no <s>; the first word gets the unigram softmax;
    bos=False in score is the same history."""
    m = nglm.Model(skip_model)
    s, o = nglm.State(), nglm.State()
    m.NullContextWrite(s)
    lp_null = m.BaseScore(s, "zal", o)
    assert m.BaseFullScore(s, "zal", o).ngram_length == 1
    m.BeginSentenceWrite(s)
    lp_bos = m.BaseScore(s, "zal", o)
    assert lp_null != lp_bos
    assert close(m.score("zal", bos=False, eos=False), lp_null, 1e-12)
    assert close(m.score("zal", eos=False), lp_bos, 1e-12)
    assert nglm.State() == s.__class__() and repr(nglm.State()).startswith("<nglm.State")


def test_bos_eos_flags(skip_model):
    m = nglm.Model(skip_model)
    full = list(m.full_scores("zal shast"))
    assert len(full) == 3
    assert [x[0] for x in m.full_scores("zal shast", eos=False)] == [x[0] for x in full[:2]]
    assert close(m.score("zal shast", eos=False), full[0][0] + full[1][0], 1e-12)
    assert m.score("", bos=True, eos=False) == 0.0


def test_perplexity(skip_model):
    m = nglm.Model(skip_model)
    line = "zal shast gri"
    assert close(m.perplexity(line), 10 ** (-m.score(line) / 4), 1e-12)


@pytest.mark.parametrize("threads", [1, 2, 0])
def test_score_file_matches_report(skip_model, text, threads):
    path, lines = text
    m = nglm.Model(skip_model)
    r = m.score_file(path, threads=threads)
    ref = report(skip_model, path)
    for k in ("sentences", "words", "oovs", "zeroprobs"):
        assert r[k] == ref[k], k
    for k in ("logprob", "ppl", "ppl1"):
        assert close(r[k], ref[k], 1e-9), k
    assert len(r["sentence_logprobs"]) == len(ref["sentence_logprobs"]) == len(lines)
    for a, b in zip(r["sentence_logprobs"], ref["sentence_logprobs"]):
        assert abs(a - b) <= 5.1e-5
    assert r["sentence_logprobs"] == pytest.approx([m.score(l) for l in lines], abs=1e-9)
    assert m.score_sentences(lines, threads=threads) == pytest.approx(
        r["sentence_logprobs"], abs=1e-12)
    e = m.evaluate(lines)
    assert e["logprob"] == pytest.approx(r["logprob"], abs=1e-9)
    assert e["oovs"] == r["oovs"] and e["words"] == r["words"]


def test_empty_sentence_is_its_eos(skip_model, work):
    """An empty sentence is </s> after <s>, as nglm-eval scores a blank line."""
    m = nglm.Model(skip_model)
    p = work / "blank.txt"
    p.write_text("\n")
    sents, totals = per_word(skip_model, str(p))
    assert close(m.score(""), totals[0], 1e-10)
    assert m.score_sentences([""]) == pytest.approx(totals, abs=1e-10)


def test_tokenizer_of_the_model(work):
    """A model trained with --tokenize word --lowercase reads a sentence its
    way, in score, State words and files alike."""
    p = work / "cased.txt"
    p.write_text("The cat, the DOG.\nthe cat sat.\nA dog's bone, the cat's.\n" * 30)
    model = str(work / "cased.nglm")
    run("nglm-train", "--quiet", "--epochs", "1", "--threads", "1", "--order", "2",
        "--tokenize", "word", "--lowercase", "--train", p, "--model", model)
    m = nglm.Model(model)
    assert m.tokenizer == "--tokenize word --lowercase"
    line = "THE Cat, sat."
    q = work / "cased-one.txt"
    q.write_text(line + "\n")
    sents, totals = per_word(model, str(q))
    got = list(m.full_scores(line))
    assert [w for w, _, _, _ in sents[0]] == ["the", "cat", ",", "sat", ".", "</s>"]
    assert [g[0] for g in got] == pytest.approx([t[3] for t in sents[0]], abs=1e-10)
    s, o = nglm.State(), nglm.State()
    m.BeginSentenceWrite(s)
    total = 0.0
    for w in ["THE", "Cat", ",", "sat", ".", "</s>"]:
        total += m.BaseScore(s, w, o)
        s, o = o, s
    assert close(total, totals[0], 1e-10)
    with pytest.raises(ValueError, match="2 tokens"):
        m.BaseScore(s, "cat,", o)


def test_sample_matches_nglm_sample(skip_model):
    m = nglm.Model(skip_model)
    want = run("nglm-sample", "--model", skip_model, "--seed", "7", "--sentences", "3",
               "--temperature", "0.8").splitlines()
    assert m.sample(3, temperature=0.8, seed=7) == want
    assert m.sample(0) == []
    with pytest.raises(ValueError):
        m.sample(1, temperature=0)


def test_kenlm_names(skip_model):
    import nglm as kenlm
    m = kenlm.LanguageModel(skip_model)
    assert isinstance(m, kenlm.Model)
    assert m.order == 3 and m.path == skip_model
    assert not m.is_arpa and m.vocab_size > 3
    assert "nglm.Model" in repr(m)
    r = m.BaseFullScore(kenlm.State(), "zal", kenlm.State())
    assert isinstance(r, kenlm.FullScoreReturn)
    assert r == (r.log_prob, r.ngram_length, r.oov)


def test_skip_model_ngram_norms(skip_model, work, text):
    """A skip-gram model's file stores its n-gram normalisers (NGRAM_NORMS):
    every token scored through them and the skip-gram correction agrees
    within 1e-12 with the same model written without them (--no-norms: the
    successor lists), with the same n-gram lengths, word by word too."""
    path, lines = text
    old = work / "skip-old.nglm"
    if not old.exists():
        run("nglm-export", "--upgrade", skip_model, "--no-norms", "-o", old)
    assert os.path.getsize(skip_model) > os.path.getsize(old)
    a, b = nglm.Model(skip_model), nglm.Model(str(old))
    for line in lines + open(work / "small.test.txt").read().splitlines():
        for (p, n, o), (q, k, u) in zip(a.full_scores(line), b.full_scores(line)):
            assert abs(p - q) <= 1e-12 * max(1.0, abs(q)), line
            assert (n, o) == (k, u), line
    sa, sb, oa, ob = nglm.State(), nglm.State(), nglm.State(), nglm.State()
    a.BeginSentenceWrite(sa)
    b.BeginSentenceWrite(sb)
    for w in lines[0].split() + ["</s>"]:
        assert close(a.BaseScore(sa, w, oa), b.BaseScore(sb, w, ob), 1e-12)
        sa, oa, sb, ob = oa, sa, ob, sb

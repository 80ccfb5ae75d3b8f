"""conftest.py — fixtures of the nglm module's tests: small models trained
by the build tree's programs (nglm-gen, nglm-train, nglm-export), and
helpers that run nglm-eval and parse what it prints, so that every score the
module gives is compared with the program's on the same text and model.

NGLM_BUILDDIR names the build tree (tests/python.sh sets it; default: the
source tree, for an in-tree build)."""
import math
import os
import subprocess

import pytest

BUILD = os.environ.get("NGLM_BUILDDIR",
                       os.path.join(os.path.dirname(__file__), "..", ".."))


def prog(name):
    return os.path.join(BUILD, name)


def run(*args, **kw):
    """Runs a program of the build tree; its stdout."""
    return subprocess.run([prog(args[0]), *map(str, args[1:])], check=True,
                          capture_output=True, text=True, **kw).stdout


def per_word(model, text, *extra):
    """nglm-eval --per-word: a list per sentence of (word, id, n-gram length,
    log10 p), and the Total of each line."""
    out = run("nglm-eval", "--model", model, "--per-word", "--digits", "12",
              *extra, text)
    sents, totals = [], []
    for line in out.splitlines():
        if "Total:" not in line:
            continue
        fields = line.split("\t")
        toks = []
        for f in fields[:-1]:
            wid, n, lp = f.rsplit(" ", 2)
            word, i = wid.rsplit("=", 1)
            toks.append((word, int(i), int(n), float(lp)))
        sents.append(toks)
        totals.append(float(fields[-1].split()[1]))
    return sents, totals


def report(model, text, *extra):
    """nglm-eval --per-sentence's numbers: a dict like Model.score_file's
    (logprob, ppl, ppl1 at 10 decimals; sentence_logprobs at 4)."""
    out = run("nglm-eval", "--model", model, "--per-sentence", "--digits", "10",
              *extra, text)
    r = {"sentence_logprobs": []}
    for line in out.splitlines():
        w = line.split()
        if line.startswith("sentence "):
            r["sentence_logprobs"].append(float(w[3]))
        elif line.startswith("file "):
            r["sentences"], r["words"], r["oovs"] = int(w[2]), int(w[4]), int(w[6])
        elif "zeroprobs, logprob=" in line:
            r["zeroprobs"], r["logprob"] = int(w[0]), float(w[3])
            r["ppl"] = None if w[5] == "undefined" else float(w[5])
            r["ppl1"] = None if w[7] == "undefined" else float(w[7])
    return r


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A directory with a small generated text: small.{train,valid,test}.txt."""
    d = tmp_path_factory.mktemp("nglm")
    run("nglm-gen", "--quiet", "--tokens", "20000", "--seed", "3",
        "--prefix", d / "small")
    return d


def train(work, name, *opts):
    path = work / name
    if not path.exists():
        run("nglm-train", "--quiet", "--epochs", "2", "--threads", "1",
            "--train", work / "small.train.txt", "--valid", work / "small.valid.txt",
            "--model", path, *opts)
    return str(path)


@pytest.fixture(scope="session")
def skip_model(work):
    """Order 3 with the default features (skip-grams at distances 2 and 3)."""
    return train(work, "skip.nglm", "--order", "3")


@pytest.fixture(scope="session")
def ngram_model(work):
    """Order 4, n-gram features only (it exports to ARPA)."""
    return train(work, "ngram.nglm", "--order", "4", "--features", "ngram")


@pytest.fixture(scope="session")
def modelm_model(work):
    """Model M, order 3, on 10 classes found by nglm-train's clustering."""
    return train(work, "modelm.nglmc", "--order", "3", "--classes", "10")


@pytest.fixture(scope="session")
def arpa_export(work, ngram_model):
    """ngram_model written as ARPA by nglm-export (gzip)."""
    path = work / "ngram.arpa.gz"
    if not path.exists():
        run("nglm-export", "--model", ngram_model, "-o", path)
    return str(path)


@pytest.fixture(scope="session")
def text(work):
    """Test sentences: 40 lines of the generated test text, an OOV, a literal
    <unk>, and a blank line (an empty sentence)."""
    lines = open(work / "small.test.txt").read().splitlines()[:40]
    lines[3] = "xyzzy " + lines[3] + " plugh"
    lines[5] = lines[5] + " <unk>"
    lines[7] = ""
    path = work / "test40.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path), lines

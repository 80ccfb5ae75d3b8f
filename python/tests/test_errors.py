"""test_errors.py — bad input raises a Python exception carrying the
library's message, never a crash: missing, directory, truncated and
corrupted model files (OSError); sentences that are not UTF-8, that hold
<s> or a line break, empty words, wrong types (ValueError, TypeError)."""
import math
import os
import struct

import pytest

import nglm


def test_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        nglm.Model(str(tmp_path / "nope.nglm"))
    assert "nope.nglm" in str(e.value)


def test_directory_model(tmp_path):
    with pytest.raises(IsADirectoryError):
        nglm.Model(str(tmp_path))


def test_truncated_model(skip_model, tmp_path):
    data = open(skip_model, "rb").read()
    p = tmp_path / "cut.nglm"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError) as e:
        nglm.Model(str(p))
    assert "cut.nglm" in str(e.value)


def test_corrupted_model(skip_model, tmp_path):
    data = bytearray(open(skip_model, "rb").read())
    data[len(data) // 2] ^= 0xFF
    p = tmp_path / "bad.nglm"
    p.write_bytes(bytes(data))
    with pytest.raises(OSError) as e:
        nglm.Model(str(p), verify=True)
    assert "bad.nglm" in str(e.value)


def test_not_a_model(tmp_path):
    p = tmp_path / "text.txt"
    p.write_text("just some words\n")
    with pytest.raises(OSError):
        nglm.Model(str(p))
    e = tmp_path / "empty"
    e.write_bytes(b"")
    with pytest.raises(OSError):
        nglm.Model(str(e))


def test_bad_arpa(tmp_path):
    p = tmp_path / "bad.arpa"
    p.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n\\end\\\n")
    with pytest.raises(OSError) as e:
        nglm.Model(str(p))
    assert "bad.arpa:" in str(e.value)


@pytest.fixture
def m(skip_model):
    return nglm.Model(skip_model)


def test_invalid_utf8_bytes(m):
    with pytest.raises(ValueError, match="invalid UTF-8 at byte offset 4"):
        m.score(b"zal \xff zal")
    with pytest.raises(ValueError, match="invalid UTF-8"):
        list(m.full_scores(b"\xc0\xaf"))
    with pytest.raises(ValueError, match="invalid UTF-8"):
        m.score("zal\0zal")
    with pytest.raises(ValueError, match="sentence 1"):
        m.score_sentences(["zal", b"\xff"])
    assert m.score(b"zal shast") == m.score("zal shast")


def test_unencodable_str(m):
    with pytest.raises(ValueError, match="UTF-8"):
        m.score("zal \ud800")
    with pytest.raises(ValueError, match="UTF-8"):
        m.BaseScore(nglm.State(), "\udcff", nglm.State())


def test_markers_inside(m):
    with pytest.raises(ValueError, match="'<s>' inside"):
        m.score("zal <s> shast")
    with pytest.raises(ValueError, match="'</s>' inside"):
        m.score("zal </s>")
    with pytest.raises(ValueError, match="<s>"):
        m.BaseScore(nglm.State(), "<s>", nglm.State())
    with pytest.raises(ValueError, match="'<s>' inside"):
        m.score_sentences(["zal", "<s> zal"])


def test_line_breaks(m):
    with pytest.raises(ValueError, match="line break"):
        m.score("zal\nshast")
    assert m.score("zal shast\n") == m.score("zal shast")


def test_bad_words(m):
    s = nglm.State()
    with pytest.raises(ValueError, match="0 tokens"):
        m.BaseScore(s, "", s)
    with pytest.raises(ValueError, match="2 tokens"):
        m.BaseScore(s, "zal shast", s)
    with pytest.raises(TypeError):
        m.BaseScore(s, 3, s)
    with pytest.raises(TypeError):
        m.BaseScore("state", "zal", s)
    with pytest.raises(TypeError):
        m.BeginSentenceWrite(None)
    with pytest.raises(TypeError):
        m.score(None)
    with pytest.raises(TypeError):
        m.score_sentences(5)


def test_bad_text_files(m, tmp_path):
    with pytest.raises(FileNotFoundError):
        m.score_file(str(tmp_path / "nope.txt"))
    with pytest.raises(IsADirectoryError):
        m.score_file(str(tmp_path))
    p = tmp_path / "bad.txt"
    p.write_bytes(b"zal\nshast \xfe\n")
    with pytest.raises(ValueError, match="bad.txt:2: invalid UTF-8"):
        m.score_file(str(p))


def test_mix_bad_weight(m):
    with pytest.raises(ValueError):
        m.mix(m, 1.5)
    with pytest.raises(TypeError):
        m.mix("model", 0.5)


def test_mapped_without_verify(skip_model, tmp_path, text):
    """The default load maps the model without the checksum, as nglm-eval
    does: the same scores as verify=True; a damaged weight is caught by
    verify=True, and without it when the scores read its block (the
    block checksums, verified on first use); never scored silently."""
    path, lines = text
    a, b = nglm.Model(skip_model, verify=True), nglm.Model(skip_model)
    assert [a.score(l) for l in lines] == [b.score(l) for l in lines]
    data = bytearray(open(skip_model, "rb").read())
    n_sec = struct.unpack_from("<I", data, 20)[0]  # doc/model-format.md: the header
    for i in range(n_sec):
        sid, _, off, length = struct.unpack_from("<IIQQ", data, 40 + 24 * i)
        if sid == 4:  # WEIGHTS: the lowest byte of its last weight
            data[off + length - 8] ^= 0x01
    p = tmp_path / "weight.nglm"
    p.write_bytes(bytes(data))
    with pytest.raises(OSError, match="checksum"):
        nglm.Model(str(p), verify=True)
    try:
        m = nglm.Model(str(p))
        got = [m.score(l) for l in lines]
    except OSError as e:
        assert "are damaged" in str(e)
    else:
        assert got == [b.score(l) for l in lines]

#!/bin/sh
# tests/install.sh — installing after an earlier build gives programs that
# run: in a tree already configured and built (any prefix), configure
# another prefix, `make install`, then run the installed nglm-train on the
# installed bundled corpus and build examples/score.c against the
# installed library with pkg-config, and run it, with no LD_LIBRARY_PATH;
# and install the Python module with pip the README's way (from the tree,
# offline, into a venv) and score with it.
# The installed nglm-train reads the corpus installed under PREFIX, not
# the build tree's nor another prefix's (the paths follow a re-configure
# without `make clean`), and says so clearly when it is missing.
# Not part of `make check` (it reconfigures the tree); .ci/run runs it.
# Usage: tests/install.sh [PREFIX]   (default: a fresh directory in /tmp)
set -eu
cd "$(dirname "$0")/.."
prefix=${1:-$(mktemp -d "${TMPDIR:-/tmp}/nglm-prefix.XXXXXX")}
old=$(sed -n 's/^prefix = //p' Makefile)
./configure -q --prefix="$prefix"
make -j2 install >/dev/null
unset LD_LIBRARY_PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/nglm-install.XXXXXX")
cd "$work"
"$prefix/bin/nglm-train" --order 3 --epochs 1 --threads 1 --model m.nglm >train.out
grep -q "ppl=" train.out
grep -q "^no --train given: using the bundled corpus $prefix/share/nglm/default\.\*$" train.out ||
    { echo "the installed nglm-train does not read $prefix's corpus:"; head -n 1 train.out; exit 1; }
mv "$prefix/share/nglm/default.train.txt" "$prefix/share/nglm/moved.txt"
if "$prefix/bin/nglm-train" --order 2 --epochs 1 --quiet --model gone.nglm >gone.out 2>&1; then
    echo "nglm-train without its installed corpus did not fail"; exit 1
fi
grep -q "bundled corpus $prefix/share/nglm/default.train.txt is not there.*--train FILE" gone.out ||
    { cat gone.out; exit 1; }
mv "$prefix/share/nglm/moved.txt" "$prefix/share/nglm/default.train.txt"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
cc "$OLDPWD/examples/score.c" $(pkg-config --cflags --libs nglm) -o score
./score m.nglm the cat sat on the mat >score.out
grep -Eq "^-[0-9]+\.[0-9]+$" score.out || { cat score.out; exit 1; }
# shellcheck disable=SC2046
cc "$OLDPWD/examples/train.c" $(pkg-config --cflags --libs nglm) -o train
head -n 2000 "$prefix/share/nglm/default.train.txt" >small.txt
./train small.txt t.nglm 3 >ex.out || { cat ex.out; exit 1; }
./score t.nglm the cat >score.out
# the README's install of the Python module, from the tree alone (its
# sources compiled in: no installed library, no pkg-config) and offline,
# into a venv of $PYTHON (default /usr/bin/python3); it scores the model
# above and a hand-written ARPA file as worked out by hand
py=${PYTHON:-/usr/bin/python3}
if "$py" -c 'import os, sysconfig, venv, ensurepip
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
    "$py" -m venv "$work/venv"
    (cd "$OLDPWD" && PIP_NO_INDEX=1 PIP_ROOT_USER_ACTION=ignore \
        "$work/venv/bin/python" -m pip install -q ./python)
    printf '%s\n' '\data\' 'ngram 1=4' 'ngram 2=2' '' '\1-grams:' '-1.0 <s> -0.5' \
        '-0.5 </s>' '-0.7 a -0.3' '-1.2 <unk>' '' '\2-grams:' '-0.2 <s> a' '-0.1 a </s>' \
        '' '\end\' >hand.arpa
    (cd / && "$work/venv/bin/python" -c 'import math, sys, nglm
m = nglm.Model(sys.argv[1])
# a: P(a|<s>) P(</s>|a); a a: and b(a) p(a) between; zzz: b(<s>) p(<unk>) p(</s>)
for s, want in (("a", -0.3), ("a a", -1.3), ("zzz", -2.2)):
    assert math.isclose(m.score(s), want, abs_tol=1e-9), (s, m.score(s), want)
print(nglm.Model(sys.argv[2]).score("the cat sat"))' "$work/hand.arpa" "$work/m.nglm") >py.out
    grep -Eq "^-[0-9]+\.[0-9]+$" py.out || { cat py.out; exit 1; }
    echo "the Python module installed with pip from the tree into a venv of $py scores a sentence"
else
    echo "no Python with venv, ensurepip and Python.h: the Python module's install is not tried"
fi
cd "$OLDPWD"
rm -rf "$work"
echo "install into $prefix after a build for $old: the installed nglm-train, examples/score and examples/train run"
# back to the tree's earlier configuration
./configure -q --prefix="$old"

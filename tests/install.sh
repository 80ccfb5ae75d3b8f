#!/bin/sh
# tests/install.sh — installing after an earlier build gives programs that
# run: in a tree already configured and built (any prefix), configure
# another prefix, `make install`, then run the installed nglm-train on the
# installed bundled corpus and build examples/score.c against the
# installed library with pkg-config, and run it, with no LD_LIBRARY_PATH;
# and install the Python module with pip the README's way and import it.
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
"$prefix/bin/nglm-train" --order 3 --epochs 1 --threads 1 --quiet --model m.nglm >train.out
grep -q "ppl=" train.out
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
# the README's install of the Python module, against the installed library
# (--target: Debian's Python refuses system-wide pip installs, PEP 668);
# the source tree may be read-only, so pip builds a copy
py=${PYTHON:-/usr/bin/python3}
if "$py" -c 'import os, sysconfig, setuptools, pip
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
    mkdir pysrc
    cp "$OLDPWD/python/setup.py" "$OLDPWD/python/nglm.c" pysrc
    PIP_ROOT_USER_ACTION=ignore "$py" -m pip install -q --no-build-isolation --no-index --target "$work/pylib" ./pysrc
    PYTHONPATH=$work/pylib "$py" -c 'import nglm; print(nglm.Model("m.nglm").score("the cat sat"))' \
        >py.out
    grep -Eq "^-[0-9]+\.[0-9]+$" py.out || { cat py.out; exit 1; }
    echo "the Python module installed with pip against $prefix scores a sentence"
else
    echo "no Python with pip, setuptools and Python.h: the Python module's install is not tried"
fi
cd "$OLDPWD"
rm -rf "$work"
echo "install into $prefix after a build for $old: the installed nglm-train, examples/score and examples/train run"
# back to the tree's earlier configuration
./configure -q --prefix="$old"

#!/bin/sh
# tests/install.sh — installing after an earlier build gives programs that
# run: in a tree already configured and built (any prefix), configure
# another prefix, `make install`, then run the installed nglm-train on the
# installed bundled corpus and build examples/score.c against the
# installed library with pkg-config, and run it, with no LD_LIBRARY_PATH.
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
cd "$OLDPWD"
rm -rf "$work"
echo "install into $prefix after a build for $old: the installed nglm-train, examples/score and examples/train run"
# back to the tree's earlier configuration
./configure -q --prefix="$old"

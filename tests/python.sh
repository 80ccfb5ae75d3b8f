#!/bin/sh
# python.sh — the Python module (python/nglm.c) built with python/setup.py
# from the library's sources (as pip builds it: the module uses internals
# that libnglm does not export), then its pytest suites (python/tests/),
# which compare the module's scores with nglm-eval's.
# Skipped (exit 77) when no Python with pytest, setuptools and its C headers
# is found ($PYTHON, /usr/bin/python3, python3 are tried).
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
B=$top_builddir
S=$top_srcdir

py=
for p in ${PYTHON:-} /usr/bin/python3 python3; do
    if "$p" -c 'import os, sys, sysconfig, pytest, setuptools
h = os.path.join(sysconfig.get_paths()["include"], "Python.h")
sys.exit(not (os.path.exists(h) and sys.version_info >= (3, 9)))' >/dev/null 2>&1; then
        py=$p
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: no Python >= 3.9 with pytest, setuptools and Python.h" \
        "(Debian: python3-dev python3-setuptools python3-pytest; or set PYTHON)"
    exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/nglm-python.XXXXXX")
trap 'rm -rf "$T"' EXIT
echo "python: $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
# build in $T only: the source tree may be read-only (make distcheck)
if ! (cd "$T" &&
      "$py" "$S/python/setup.py" -q build_ext --parallel 2 --build-lib "$T/lib" \
      --build-temp "$T/build") >"$T/build.log" 2>&1; then
    cat "$T/build.log"
    echo "FAIL: building the module"
    exit 1
fi
cd "$T" || exit 1
NGLM_BUILDDIR=$B PYTHONPATH=$T/lib PYTHONDONTWRITEBYTECODE=1 \
    "$py" -m pytest -q -p no:cacheprovider --basetemp="$T/pytest" --rootdir="$T" \
    "$S/python/tests"

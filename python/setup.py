"""setup.py — builds the Python module `nglm` (python/nglm.c) with
setuptools, for `make python` and tests/python.sh, and for those who use
setup.py themselves.  Installing is `python3 -m pip install ./python`,
which needs no setuptools (build_nglm.py, pyproject.toml; doc/python.md).

The library's sources are compiled into the extension (as build_nglm.py
does): the module uses internals (src/nglm/*.h) that an installed libnglm
does not export, so it is never linked with one.
"""
import os
import sys
import tempfile

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # the source tree may be read-only
import build_nglm  # noqa: E402  (this directory's)


def extension():
    version = build_nglm.version()
    macros = [("NGLM_VERSION", '"%s"' % version)]
    cc, _ = build_nglm.compiler()
    with tempfile.TemporaryDirectory() as tmp:
        omp = ["-fopenmp"] if build_nglm.has_openmp(cc, tmp) else []
    sources = [os.path.relpath(s, HERE) for s in build_nglm.library_sources()]
    return Extension("nglm", ["nglm.c"] + sources,
                     include_dirs=["../include", "../src"],
                     extra_compile_args=["-std=gnu11", "-fno-math-errno",
                                         "-fvisibility=hidden"] + omp,
                     extra_link_args=omp, libraries=["z", "m"], define_macros=macros)


# sources are named relative to this directory (as setuptools wants them);
# give --build-lib and --build-temp to build elsewhere
os.chdir(HERE)
setup(
    name="nglm",
    version=build_nglm.version(),
    description="softmax n-gram language models (libnglm) with KenLM's Python API",
    license="MIT",
    ext_modules=[extension()],
    python_requires=">=3.9",
)

"""setup.py — builds the Python module `nglm` (python/nglm.c) with
setuptools, for `make python` and tests/python.sh, and for those who use
setup.py themselves.  Installing is `python3 -m pip install ./python`,
which needs no setuptools (build_nglm.py, pyproject.toml; doc/python.md).

By default the library's sources are compiled into the extension (as
build_nglm.py does).  To link an installed or built libnglm instead, set
NGLM_CFLAGS and NGLM_LIBS, e.g. NGLM_CFLAGS=-I../include
NGLM_LIBS="-L../.libs -Wl,-rpath,$PWD/../.libs -lnglm", or NGLM_PKG_CONFIG=1
to ask pkg-config for nglm.pc's flags.
"""
import os
import shlex
import subprocess
import sys
import tempfile

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # the source tree may be read-only
import build_nglm  # noqa: E402  (this directory's)


def pkg_config(*args):
    """pkg-config's answer for nglm, split into words, or None."""
    try:
        out = subprocess.run(["pkg-config", *args, "nglm"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def linked():
    """(cflags, libs) to link a libnglm, or None to compile its sources."""
    cflags = os.environ.get("NGLM_CFLAGS")
    libs = os.environ.get("NGLM_LIBS")
    if cflags is not None or libs is not None:
        return shlex.split(cflags or ""), shlex.split(libs or "-lnglm")
    if os.environ.get("NGLM_PKG_CONFIG"):
        cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
        if cflags is None or libs is None:
            raise SystemExit("nglm: pkg-config cannot find nglm.pc: set PKG_CONFIG_PATH to "
                             "its lib/pkgconfig")
        return cflags, libs
    return None


def extension():
    version = build_nglm.version()
    macros = [("NGLM_VERSION", '"%s"' % version)]
    flags = linked()
    if flags:
        return Extension("nglm", ["nglm.c"], extra_compile_args=flags[0] + ["-std=gnu11"],
                         extra_link_args=flags[1], define_macros=macros)
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

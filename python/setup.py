"""setup.py — builds the Python module `nglm` (python/nglm.c) against an
installed libnglm, found with pkg-config (nglm.pc); see doc/python.md.

    pip install --no-build-isolation ./python

Without pkg-config's answer (or to build against a build tree), set
NGLM_CFLAGS and NGLM_LIBS, e.g. NGLM_CFLAGS=-I../include
NGLM_LIBS="-L../.libs -Wl,-rpath,$PWD/../.libs -lnglm".
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup


def pkg_config(*args):
    """pkg-config's answer for nglm, split into words, or None."""
    try:
        out = subprocess.run(["pkg-config", *args, "nglm"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def flags():
    cflags = os.environ.get("NGLM_CFLAGS")
    libs = os.environ.get("NGLM_LIBS")
    if cflags is not None or libs is not None:
        return shlex.split(cflags or ""), shlex.split(libs or "-lnglm")
    cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
    if cflags is None or libs is None:
        raise SystemExit("nglm: pkg-config cannot find nglm.pc: install libnglm first "
                         "(make install), set PKG_CONFIG_PATH to its lib/pkgconfig, or "
                         "set NGLM_CFLAGS and NGLM_LIBS")
    return cflags, libs


def version():
    v = pkg_config("--modversion")
    return v[0] if v else os.environ.get("NGLM_VERSION", "0")


cflags, libs = flags()
# sources are named relative to this directory (as setuptools wants them);
# give --build-lib and --build-temp to build elsewhere
os.chdir(os.path.dirname(os.path.abspath(__file__)))
setup(
    name="nglm",
    version=version(),
    description="softmax n-gram language models (libnglm) with KenLM's Python API",
    ext_modules=[Extension(
        "nglm", ["nglm.c"],
        extra_compile_args=cflags + ["-std=gnu11"],
        extra_link_args=libs,
        define_macros=[("NGLM_VERSION", '"%s"' % version())],
    )],
    python_requires=">=3.10",
)

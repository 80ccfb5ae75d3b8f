"""build_nglm.py — builds the Python module `nglm` from a clone of nglm,
with nothing but Python's standard library and a C compiler: the library's
sources (../src/*.c but the programs') and python/nglm.c are compiled into
the one extension, so no `make install`, no pkg-config, no configure, and
nothing to download (not setuptools, not wheel).

It is the build backend pip uses (PEP 517; pyproject.toml names it), so
from the top of a clone

    python3 -m pip install ./python

installs the module, offline, for whichever python3 runs pip (a venv's, or
add --user or --target DIR).  Needs: a C compiler, Python's headers
(Debian: python3-dev), zlib's (zlib1g-dev) and uthash (uthash-dev);
OpenMP is used when the compiler has it (-fopenmp).

`python3 build_nglm.py DIR` builds the extension into DIR without pip.
"""
import base64
import concurrent.futures
import hashlib
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
# src/ files that are the programs, not the library
PROGRAM_SOURCES = ("cli.c", "monitor.c", "outputs.c")


def version():
    """The version in configure.ac's AC_INIT."""
    try:
        with open(os.path.join(TOP, "configure.ac"), encoding="utf-8") as f:
            m = re.search(r"AC_INIT\(\[nglm\],\s*\[([^]]+)\]", f.read())
    except OSError:
        m = None
    return m.group(1) if m else "0"


def library_sources():
    """The library's C sources (every src/*.c but the programs'), sorted."""
    src = os.path.join(TOP, "src")
    if not os.path.isdir(src):
        raise SystemExit("nglm: %s not found: build the module from a clone of nglm "
                         "(pip install ./python at its top)" % src)
    return sorted(os.path.join(src, f) for f in os.listdir(src)
                  if f.endswith(".c") and not f.startswith("nglm-")
                  and f not in PROGRAM_SOURCES)


def compiler():
    """Python's C compiler and shared-object linker, as words."""
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    ld = os.environ.get("LDSHARED") or sysconfig.get_config_var("LDSHARED")
    return cc, shlex.split(ld) if ld else cc + ["-shared"]


def has_openmp(cc, tmp):
    """Whether cc compiles and links an OpenMP program."""
    src = os.path.join(tmp, "omp.c")
    with open(src, "w") as f:
        f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
    r = subprocess.run(cc + ["-fopenmp", src, "-o", os.path.join(tmp, "omp")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def build_extension(out_dir, tmp):
    """Compiles the library and python/nglm.c into out_dir/nglm<EXT_SUFFIX>;
    returns its path."""
    cc, ld = compiler()
    omp = ["-fopenmp"] if has_openmp(cc, tmp) else []
    cflags = ["-std=gnu11", "-O2", "-fPIC", "-fno-math-errno", "-DNDEBUG",
              "-fvisibility=hidden",
              "-I" + os.path.join(TOP, "include"), "-I" + os.path.join(TOP, "src"),
              "-I" + sysconfig.get_paths()["include"],
              '-DNGLM_VERSION="%s"' % version()] + omp
    sources = library_sources() + [os.path.join(HERE, "nglm.c")]
    objects = [os.path.join(tmp, "%d-%s.o" % (i, os.path.basename(s)[:-2]))
               for i, s in enumerate(sources)]

    def compile_one(pair):
        src, obj = pair
        r = subprocess.run(cc + cflags + ["-c", src, "-o", obj],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return src, r

    jobs = max(1, min(4, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for src, r in pool.map(compile_one, zip(sources, objects)):
            if r.returncode != 0:
                sys.stderr.write(r.stdout)
                raise SystemExit("nglm: compiling %s failed" % src)
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "nglm" + sysconfig.get_config_var("EXT_SUFFIX"))
    r = subprocess.run(ld + objects + omp + ["-lz", "-lm", "-o", target],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout)
        raise SystemExit("nglm: linking %s failed" % target)
    return target


# ---------------------------------------------------------------- PEP 517

def _metadata():
    return ("Metadata-Version: 2.1\nName: nglm\nVersion: %s\n"
            "Summary: softmax n-gram language models (libnglm) with KenLM's Python API\n"
            "License: MIT\nRequires-Python: >=3.9\n" % version())


def _tag():
    impl = "cp%d%d" % sys.version_info[:2]
    plat = re.sub(r"[-.]", "_", sysconfig.get_platform())
    return "%s-%s%s-%s" % (impl, impl, getattr(sys, "abiflags", ""), plat)


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d" % (name, digest.decode(), len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = "nglm-%s.dist-info" % version()
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata())
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """The wheel of the extension and its metadata (and the license)."""
    ver = version()
    info = "nglm-%s.dist-info" % ver
    name = "nglm-%s-%s.whl" % (ver, _tag())
    with tempfile.TemporaryDirectory(prefix="nglm-build-") as tmp:
        ext = build_extension(os.path.join(tmp, "out"), tmp)
        files = [(os.path.basename(ext), open(ext, "rb").read()),
                 (info + "/METADATA", _metadata().encode()),
                 (info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: build_nglm\n"
                                    "Root-Is-Purelib: false\nTag: %s\n" % _tag()).encode())]
        lic = os.path.join(TOP, "LICENSE")
        if os.path.exists(lic):
            files.append((info + "/LICENSE", open(lic, "rb").read()))
        record = "".join(_record_line(n, d) + "\n" for n, d in files)
        record += info + "/RECORD,,\n"
        os.makedirs(wheel_directory, exist_ok=True)
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                             zipfile.ZIP_DEFLATED) as z:
            for n, d in files:
                z.writestr(n, d)
            z.writestr(info + "/RECORD", record)
    return name


def build_sdist(sdist_directory, config_settings=None):
    raise SystemExit("nglm: the module is built from a clone (pip install ./python); "
                     "the source distribution is make dist's tarball")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python3 build_nglm.py DIR")
    with tempfile.TemporaryDirectory(prefix="nglm-build-") as tmp:
        print(build_extension(sys.argv[1], tmp))

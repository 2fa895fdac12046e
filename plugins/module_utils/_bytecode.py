# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache on the managed host for this collection's module_utils.

Why: Ansible ships a module and its module_utils as a zip (AnsiballZ) and the
host's Python imports them with zipimport, which never caches bytecode and, on
Python 3.11-3.14, compiles every source file twice (once to find the spec, once
to run it). A module of this collection imports 150-250 KB of module_utils:
compiling it took ~40 % of a no-op module run's CPU on a lab host (cProfile:
0.26-0.31 s of 0.51-0.58 s were compile(), Ansible's own module_utils
included). With this cache each of our files is compiled once per host and
content, then loaded with marshal (~1 ms for all of them).

How: every module imports this file first and calls ``install()`` before it
imports any other module_utils (tests/unit checks that each module does; the
package's ``__init__`` cannot do it: Ansible ships the packages down to
module_utils as empty files). Only when the package was itself imported from a
zip archive (an AnsiballZ payload) is a finder put first on ``sys.meta_path``; on the controller,
in unit tests or under mitogen the package comes from a directory and nothing
is installed. The finder serves only this package's submodules: it reads the
source from the same zip, and the cache key is the SHA-256 of that source and
the interpreter's bytecode magic, so a changed file or another Python never
loads stale code.

Trust: a cached code object is executed as the module's user, so the cache is
used only when its directory is owned by that user and not writable by anyone
else (``/var/cache/pbxguard-asterisk/bytecode``, mode 0700, and only for root:
a module run as another user compiles as zipimport would), and a file is
loaded only when it is a regular file (not a symlink) owned by that user, not
group/other writable, and carries the digest of the source it was made from.
Anything else (a read-only disk, a foreign owner, a torn or tampered file)
falls back to compiling, exactly what zipimport would have done. The cache
holds no secret: it is the collection's code, compiled."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import zipimport

_MAGIC = importlib.util.MAGIC_NUMBER
_HEADER = b"PBXGBC1\n"
# more files than this (old versions of the collection) and the oldest half goes
_MAX_ENTRIES = 1000


# set by the unit tests only (a directory of their own instead of the system's)
CACHE_DIR = None


def cache_dir():
    """The cache directory (not created here), or None: only a module running as
    root keeps one (the collection's modules manage /etc/asterisk, sshd and PAM as
    root; a run as another user should not leave a directory in its home)."""
    if CACHE_DIR:
        return CACHE_DIR
    if os.geteuid() == 0:
        return "/var/cache/pbxguard-asterisk/bytecode"
    return None


def _private_dir(path):
    """``path`` (created 0700 when missing) when it is a directory of this user
    that nobody else can write, else None."""
    if not path:
        return None
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path


def _key(relname, source):
    return hashlib.sha256(_MAGIC + relname.encode("utf-8") + b"\0" + source).hexdigest()


def _load(path, digest):
    """The code object in cache file ``path``, or None when it is missing or not trusted."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        with os.fdopen(fd, "rb") as f:
            fd = None
            data = f.read()
    except OSError:
        return None
    finally:
        if fd is not None:
            os.close(fd)
    head = _HEADER + _MAGIC + bytes.fromhex(digest)
    if not data.startswith(head):
        return None
    try:
        return marshal.loads(data[len(head):])
    except (ValueError, EOFError, TypeError):
        return None


def _store(directory, path, digest, code):
    """Write ``code`` to ``path`` atomically (temp file + rename); errors are ignored."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(_HEADER + _MAGIC + bytes.fromhex(digest) + marshal.dumps(code))
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(directory)


def _prune(directory):
    try:
        names = [n for n in os.listdir(directory) if n.endswith(".pyc")]
        if len(names) <= _MAX_ENTRIES:
            return
        paths = sorted((os.path.join(directory, n) for n in names), key=lambda p: os.lstat(p).st_mtime)
        for p in paths[:len(paths) // 2]:
            os.unlink(p)
    except OSError:
        pass


def code_for(relname, source, directory):
    """The code object of ``source`` (bytes) named ``relname``: from the cache
    in ``directory`` when present and trusted, else compiled (and stored)."""
    if directory is None:
        return compile(source, relname, "exec", dont_inherit=True)
    digest = _key(relname, source)
    path = os.path.join(directory, digest + ".pyc")
    code = _load(path, digest)
    if code is None:
        code = compile(source, relname, "exec", dont_inherit=True)
        _store(directory, path, digest, code)
    return code


class _Loader(object):
    def __init__(self, inner, source, directory):
        self.inner, self.source, self.directory = inner, source, directory

    def create_module(self, spec):
        return None  # the default module object

    def get_source(self, fullname):  # linecache asks for it in tracebacks
        return self.source.decode("utf-8")

    def exec_module(self, module):
        code = code_for(self.inner, self.source, self.directory)
        exec(code, module.__dict__)  # pylint: disable=exec-used


class _Finder(object):
    """Finds the submodules of one package that lives in one zip archive."""

    def __init__(self, package, archive_path, prefix):
        self.package = package
        self.archive = zipimport.zipimporter(archive_path)
        self.archive_path = archive_path
        self.prefix = prefix  # the package's directory inside the zip, with a trailing /
        self.directory = _private_dir(cache_dir())

    def find_spec(self, fullname, path=None, target=None):
        head, dot, tail = fullname.rpartition(".")
        if head != self.package or not dot or not tail:
            return None
        inner = self.prefix + tail + ".py"
        try:
            source = self.archive.get_data(inner)  # read (and inflated) once: the loader keeps it
        except OSError:
            return None  # not a plain module of ours (a subpackage, or absent): the normal finders decide
        loader = _Loader(inner, source, self.directory)
        spec = importlib.machinery.ModuleSpec(fullname, loader, origin=os.path.join(self.archive_path, inner))
        spec.has_location = True
        return spec


def install():
    """Put the finder for this file's package first on sys.meta_path when the
    package was loaded from a zip archive. True when it did."""
    package = __name__.rpartition(".")[0]
    package_path = getattr(sys.modules.get(package), "__path__", None)
    if not package_path or any(isinstance(f, _Finder) and f.package == package for f in sys.meta_path):
        return False
    where = package_path[0]
    marker = ".zip" + os.sep
    cut = where.find(marker)
    if cut < 0:
        return False
    archive_path = where[:cut + 4]
    if not os.path.isfile(archive_path):
        return False
    prefix = where[cut + len(marker):].replace(os.sep, "/").rstrip("/") + "/"
    try:
        finder = _Finder(package, archive_path, prefix)
    except (zipimport.ZipImportError, OSError):
        return False
    sys.meta_path.insert(0, finder)
    return True

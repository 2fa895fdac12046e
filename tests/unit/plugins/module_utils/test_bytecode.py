# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-side bytecode cache (_bytecode.py), exercised as on a managed host:
the package imported from a zip archive, each import in a fresh interpreter."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ast
import glob
import json
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PKG = "ansible_collections/pbxguard/asterisk/plugins/module_utils"
MODNAME = PKG.replace("/", ".")

# run in a fresh interpreter: import _demo from the zip with compile() counted
CHILD = r'''
import builtins, json, sys
zip_path, cache, forbid = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, zip_path)
real_compile, compiled = builtins.compile, []
def counting_compile(source, filename, *a, **kw):
    if "_demo" in str(filename):
        if forbid:
            raise AssertionError("compiled although cached")
        compiled.append(filename)
    return real_compile(source, filename, *a, **kw)
builtins.compile = counting_compile
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.CACHE_DIR = cache
installed = _bytecode.install()
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _demo
print(json.dumps({"installed": installed, "value": _demo.VALUE, "compiled": len(compiled),
                  "file": _demo.__file__}))
'''


def make_zip(path, demo_source):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        parts = PKG.split("/")
        for i in range(1, len(parts) + 1):
            z.writestr("/".join(parts[:i]) + "/__init__.py", b"")
        with open(os.path.join(ROOT, "plugins", "module_utils", "_bytecode.py"), "rb") as f:
            z.writestr(PKG + "/_bytecode.py", f.read())
        z.writestr(PKG + "/_demo.py", demo_source)


def child(zip_path, cache, forbid_compile=False):
    p = subprocess.run([sys.executable, "-c", CHILD, zip_path, cache, "1" if forbid_compile else "0"],
                       capture_output=True, text=True, check=False, cwd="/")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture
def lab(tmp_path):
    zip_path = str(tmp_path / "payload.zip")
    make_zip(zip_path, b"VALUE = 6 * 7\n")
    return zip_path, str(tmp_path / "cache" / "bytecode")


def entries(cache):
    return sorted(glob.glob(os.path.join(cache, "*.pyc")))


def test_first_run_compiles_once_and_stores_then_runs_load_without_compiling(lab):
    zip_path, cache = lab
    first = child(zip_path, cache)
    assert first["installed"] is True and first["value"] == 42
    assert first["compiled"] == 1  # zipimport alone compiles a file twice
    assert first["file"].startswith(zip_path + "/")
    assert oct(os.stat(cache).st_mode & 0o777) == "0o700"
    files = entries(cache)
    assert len(files) == 1 and oct(os.stat(files[0]).st_mode & 0o777) == "0o600"
    again = child(zip_path, cache, forbid_compile=True)
    assert again["value"] == 42 and again["compiled"] == 0


def test_a_changed_source_gets_its_own_entry(lab, tmp_path):
    zip_path, cache = lab
    child(zip_path, cache)
    make_zip(zip_path, b"VALUE = 7\n")
    out = child(zip_path, cache)
    assert out["value"] == 7 and out["compiled"] == 1
    assert len(entries(cache)) == 2


@pytest.mark.parametrize("damage", ["tampered", "truncated", "group_writable", "symlink"])
def test_an_entry_that_is_not_trusted_is_never_loaded(lab, tmp_path, damage):
    zip_path, cache = lab
    child(zip_path, cache)
    entry = entries(cache)[0]
    if damage == "tampered":
        # a valid code object of other source behind the right name: the digest inside does not match
        data = open(entry, "rb").read()
        with open(entry, "wb") as f:
            f.write(data[:20] + b"\0" * 32 + data[52:])
    elif damage == "truncated":
        data = open(entry, "rb").read()
        with open(entry, "wb") as f:
            f.write(data[:len(data) // 2])
    elif damage == "group_writable":
        os.chmod(entry, 0o620)
    else:
        other = str(tmp_path / "elsewhere.pyc")
        os.rename(entry, other)
        os.symlink(other, entry)
    out = child(zip_path, cache)
    assert out["value"] == 42 and out["compiled"] == 1


def test_a_cache_directory_others_can_write_is_not_used(lab):
    zip_path, cache = lab
    os.makedirs(cache)
    os.chmod(cache, 0o777)
    out = child(zip_path, cache)
    assert out["value"] == 42 and out["compiled"] == 1
    assert entries(cache) == []


def test_an_unwritable_cache_falls_back_to_compiling(lab, tmp_path):
    zip_path, dummy = lab
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = child(zip_path, str(blocker / "bytecode"))
    assert out["value"] == 42 and out["compiled"] == 1


def test_nothing_is_installed_when_the_package_is_not_in_a_zip():
    # on the controller and in these unit tests the package comes from a directory
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
    before = list(sys.meta_path)
    assert _bytecode.install() is False
    assert sys.meta_path == before


def test_only_root_keeps_a_cache(monkeypatch):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
    monkeypatch.setattr(_bytecode, "CACHE_DIR", None)
    monkeypatch.setattr(_bytecode.os, "geteuid", lambda: 0)
    assert _bytecode.cache_dir() == "/var/cache/pbxguard-asterisk/bytecode"
    monkeypatch.setattr(_bytecode.os, "geteuid", lambda: 1000)
    assert _bytecode.cache_dir() is None and _bytecode._private_dir(None) is None


def _collection_imports(tree):
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ansible_collections."):
            yield node


@pytest.mark.parametrize("module", sorted(glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))),
                         ids=os.path.basename)
def test_every_module_installs_the_cache_before_its_other_module_utils(module):
    tree = ast.parse(open(module).read())
    imports = list(_collection_imports(tree))
    if not imports:
        return  # a documentation-only module (its action plugin does the work)
    first = imports[0]
    assert first.module == MODNAME and [a.name for a in first.names] == ["_bytecode"], (
        "%s: the first module_utils import must be _bytecode" % os.path.basename(module))
    follows = tree.body[tree.body.index(first) + 1]
    assert ast.unparse(follows) == "_bytecode.install()", "%s: _bytecode.install() must follow it" % module

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""modules.conf: which Asterisk modules the loader loads, and the one edit the
collection makes there (a ``noload =>`` line for one module), shared by the
mail module (Debian's app_voicemail_odbc.so) and sip_transport (PJSIP's
anonymous endpoint identifier). Pure over bytes.

Asterisk's loader (main/loader.c) reads ``[modules]``: ``autoload=yes`` loads
every module found except the ``noload`` ones; ``load``, ``require``,
``preload`` and ``preload-require`` load a module explicitly (also without
autoload). A ``noload`` wins over autoload, not over an explicit load line."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile, ast_true, make_option

MODULES_CONF = "/etc/asterisk/modules.conf"
LOAD_KEYS = ("load", "require", "preload", "preload-require")


def _items(cfg):
    """[(key, value, line number)] of every [modules] section, in order."""
    return [(ln.key.lower(), ln.value.strip(), ln.number) for sec in cfg.find("modules")
            for ln in sec.option_lines()]


def _autoload(items):
    auto = [v for k, v, dummy in items if k == "autoload"]
    # the loader reads autoload with ast_true()
    return bool(auto) and ast_true(auto[-1])


def explicit_loads(data, module, path=MODULES_CONF):
    """[(key, line number)] of the lines that load ``module`` explicitly."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    return [(k, n) for k, v, n in _items(cfg) if k in LOAD_KEYS and v == module]


def loads(data, module, path=MODULES_CONF):
    """Whether the loader loads ``module`` (when installed) with this
    modules.conf: an explicit load line, or autoload without a noload."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    items = _items(cfg)
    if any(k in LOAD_KEYS and v == module for k, v, dummy in items):
        return True
    if any(k == "noload" and v == module for k, v, dummy in items):
        return False
    return _autoload(items)


def ensure_noload(data, module, option, opt_out, why="an explicit load beats any noload", path=MODULES_CONF):
    """Pure: modules.conf with ``noload => MODULE`` when the module would
    otherwise be autoloaded. Returns (bytes, added). A hand-written explicit
    load line of the module is refused naming ``option`` and ``opt_out``
    (a noload cannot beat it)."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    found = cfg.find("modules")
    if not found:
        return data, False
    items = _items(cfg)
    for key, value, number in items:
        if value == module and key in LOAD_KEYS:
            raise policy.PolicyError(
                "%s: %s:%d says '%s => %s' (line written by hand): %s; remove the line or set %s"
                % (option, path, number, key, module, why, opt_out))
    if any(k == "noload" and v == module for k, v, dummy in items) or not _autoload(items):
        return data, False
    s = found[0]
    eol = s._eol()
    idx = s._insert_index()
    if idx and not s.lines[idx - 1].raw.endswith("\n"):
        s.lines[idx - 1].raw += eol
    elif not idx and not s.header.raw.endswith("\n"):
        s.header.raw += eol
    s.lines.insert(idx, make_option("noload", module, eol, arrow=True))
    return cfg.to_bytes(), True


def remove_noload(data, module, path=MODULES_CONF):
    """Pure: modules.conf without its ``noload => MODULE`` lines. Returns
    (bytes, removed)."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    removed = False
    for sec in cfg.find("modules"):
        keep = [ln for ln in sec.lines
                if not (ln.kind == "option" and ln.key.lower() == "noload" and ln.value.strip() == module)]
        if len(keep) != len(sec.lines):
            sec.lines = keep
            removed = True
    return (cfg.to_bytes(), True) if removed else (data, False)

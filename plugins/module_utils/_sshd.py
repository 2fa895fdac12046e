# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sshd drop-ins and PAM lines shared by the admin and totp modules:
render (pure) -> write all -> ``sshd -t`` -> reload, restoring every file
when sshd refuses the result. Also the lockout guard (SSH_CONNECTION)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files

DROPIN_DIR = "/etc/ssh/sshd_config.d"
MARKER = "managed by pbxguard.asterisk"


class SshdError(Exception):
    pass


def controller_address(environ=None):
    """The address the controller's SSH session comes from, or None (local run)."""
    env = os.environ if environ is None else environ
    parts = (env.get("SSH_CONNECTION") or "").split()
    if len(parts) < 4:
        return None
    try:
        return str(ipaddress.ip_address(parts[0])), str(ipaddress.ip_address(parts[2])), parts[3]
    except ValueError:
        return None


def address_allowed(address, networks):
    """True when ``address`` is inside one of ``networks`` (CIDR texts);
    an empty list allows every address."""
    if not networks:
        return True
    addr = ipaddress.ip_address(address)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for n in networks:
        net = ipaddress.ip_network(n)
        if net.version == addr.version and addr in net:
            return True
    return False


def write_files(module, changes):
    """``changes`` maps path -> (old bytes or None, new bytes or None, owner, group, mode).
    Writes (or removes) each; returns nothing."""
    for path, (old, new, owner, group, mode) in changes.items():
        if new is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            files.write_atomic(module, path, new, owner=owner, group=group, mode=mode)


def restore_files(module, changes):
    for path, (old, new, owner, group, mode) in changes.items():
        try:
            if old is None:
                if os.path.exists(path):
                    os.unlink(path)
            else:
                files.write_atomic(module, path, old, owner=owner, group=group, mode=mode)
        except (IOError, OSError):
            pass


def sshd_test(module):
    rc, out, err = module.run_command(["sshd", "-t"])
    return rc, (out or "") + (err or "")


def reload_ssh(module):
    for unit in ("ssh", "sshd"):
        rc, out, err = module.run_command(["systemctl", "reload", unit])
        if rc == 0:
            return unit
    raise SshdError("systemctl reload ssh failed: %s" % ((out or "") + (err or "")).strip())


def apply(module, changes, reload=True):
    """Write ``changes``, validate with ``sshd -t`` and reload ssh. When sshd
    refuses the configuration, every file is restored and SshdError raised
    with sshd's own words."""
    if not changes:
        return False
    write_files(module, changes)
    rc, said = sshd_test(module)
    if rc != 0:
        restore_files(module, changes)
        raise SshdError("sshd -t refused the new configuration; the previous files were restored. "
                        "sshd said: %s" % said.strip())
    if reload:
        reload_ssh(module)
    return True


def effective(module, user, addr, laddr="127.0.0.1", lport="22", host="client.invalid"):
    """``sshd -T -C`` for a connection of ``user`` from ``addr``: {keyword: [values]}."""
    spec = "user=%s,host=%s,addr=%s,laddr=%s,lport=%s" % (user, host, addr, laddr, lport)
    rc, out, err = module.run_command(["sshd", "-T", "-C", spec])
    if rc != 0:
        raise SshdError("sshd -T -C %s failed: %s" % (spec, ((out or "") + (err or "")).strip()))
    conf = {}
    for line in out.splitlines():
        key, _sep, value = line.strip().partition(" ")
        if key:
            conf.setdefault(key.lower(), []).append(value.strip())
    return conf


def user_denied(conf, user):
    """Whether the effective config (from ``effective``) refuses ``user``."""
    for value in conf.get("denyusers", []):
        if user in value.split():
            return True
    allow = [u for v in conf.get("allowusers", []) for u in v.split()]
    if allow and user not in allow and not any(a.split("@")[0] in (user, "*") for a in allow):
        return True
    return False

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sshd drop-ins and PAM files shared by the admin and totp modules.

On the change transaction (module_utils/_transaction.py): ``config_file``
plans a drop-in or PAM file as a ``File`` (root:root 0644), ``test_and_reload``
is the apply step (``sshd -t`` on the written files, then reload; a refusal
raises ``SshdError`` with sshd's words, and the transaction restores every
file), ``effective``/``user_denied`` read the live result back for verify,
``reload_quietly`` is the revert step. Also the lockout guard (SSH_CONNECTION)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import ChangeError, File

DROPIN_DIR = "/etc/ssh/sshd_config.d"
MARKER = "managed by pbxguard.asterisk"


class SshdError(ChangeError):
    """sshd refused or could not be read back (a ChangeError: the
    transaction restores every file written and fails with these words)."""


def config_file(host, path, new, owner="root", group="root", mode=0o644):
    """A ``File`` of a plan for an sshd drop-in or a PAM file (``new`` None:
    the file is removed), read through ``host``."""
    old = host.read(path)
    differ = old is not None and new is not None and host.attributes_differ(path, owner, group, mode)
    return File(path, old, new, owner=owner, group=group, mode=mode, attributes_differ=differ)


def test_and_reload(host):
    """The apply step after drop-ins were written: ``sshd -t`` on the whole
    configuration, then ``systemctl reload``. Returns the unit reloaded."""
    rc, said = sshd_test(host)
    if rc != 0:
        raise SshdError("sshd -t refused the new configuration; the previous files were restored. "
                        "sshd said: %s" % said.strip())
    return reload_ssh(host)


def reload_quietly(host):
    """The revert step: reload ssh with the restored files, only when sshd
    accepts them (a reload onto a configuration sshd refuses - a broken file
    that is not ours - may stop sshd where reload is a bare SIGHUP). Best
    effort: the task is failing already with sshd's words."""
    try:
        if sshd_test(host)[0] == 0:
            reload_ssh(host)
    except SshdError:
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


def sshd_test(module):
    rc, out, err = module.run_command(["sshd", "-t"])
    return rc, (out or "") + (err or "")


def reload_ssh(module):
    for unit in ("ssh", "sshd"):
        rc, out, err = module.run_command(["systemctl", "reload", unit])
        if rc == 0:
            return unit
    raise SshdError("systemctl reload ssh failed: %s" % ((out or "") + (err or "")).strip())


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

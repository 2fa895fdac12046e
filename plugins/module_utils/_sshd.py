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


# ------------------------------------------------- the configuration as sshd reads it
SSHD_CONFIG = "/etc/ssh/sshd_config"
SSHDIR = "/etc/ssh"  # where sshd resolves a relative Include (servconf.c: SSHDIR "/" arg)
INCLUDE_DEPTH = 16  # servconf.c: SERVCONF_MAX_DEPTH
INCLUDE_FIX = ("put 'Include /etc/ssh/sshd_config.d/*.conf' back as the first directive of %s (sshd keeps "
               "the first value it reads, so drop-ins must come first); with devsec.hardening's "
               "ssh_hardening role set sshd_custom_options: ['Include /etc/ssh/sshd_config.d/*.conf'] "
               "(the role writes those lines at the top of the file it renders)" % SSHD_CONFIG)


def split_line(line):
    """One sshd_config line as servconf.c reads it: (keyword lower-cased, [args]),
    or None for a blank or comment line. The keyword ends at blanks or one '='
    (strdelim); the arguments are split as argv_split() does: double quotes
    group, a backslash escapes a quote or backslash, an unquoted '#' starting
    an argument ends the line."""
    s = line.strip(" \t\r\n\f")
    if not s or s.startswith("#"):
        return None
    i = 0
    while i < len(s) and s[i] not in " \t=":
        i += 1
    keyword, rest = s[:i], s[i:].lstrip(" \t")
    if rest.startswith("="):
        rest = rest[1:].lstrip(" \t")
    if not keyword:
        return None
    args, cur, quoted, started, j = [], [], False, False, 0
    while j < len(rest):
        c = rest[j]
        if c == "\\" and j + 1 < len(rest) and rest[j + 1] in "\\\"":
            cur.append(rest[j + 1])
            started = True
            j += 2
            continue
        if c == '"':
            quoted = not quoted
            started = True
        elif c in " \t" and not quoted:
            if started:
                args.append("".join(cur))
            cur, started = [], False
        elif c == "#" and not quoted and not started:
            break
        else:
            cur.append(c)
            started = True
        j += 1
    if started:
        args.append("".join(cur))
    return keyword.lower(), args


def glob_matches(pattern, path):
    """Whether glob(3) of ``pattern`` would return ``path`` if it existed
    (per component: '*' never crosses '/', nor matches a leading '.')."""
    import fnmatch
    pp, tp = pattern.split("/"), path.split("/")
    if len(pp) != len(tp):
        return False
    for p, t in zip(pp, tp):
        if t.startswith(".") and not p.startswith("."):
            return False
        if not fnmatch.fnmatchcase(t, p):
            return False
    return True


def include_patterns(args):
    return [a if a.startswith(("/", "~")) else "%s/%s" % (SSHDIR, a) for a in args if a]


def directives(read, glob, main=SSHD_CONFIG):
    """Every directive of sshd's configuration in the order sshd reads it:
    (file, line number, keyword, args, match) with ``match`` None outside a
    Match block, else that Match line's arguments; an Include comes first, then
    the directives of the files it names (glob(3) order, depth and loops
    limited as servconf.c limits them). Lines end at LF only (servconf.c
    splits the file it read at '\\n'). ``read(path)`` returns bytes or None,
    ``glob(pattern)`` the sorted existing paths. The one reader of
    sshd_config here: drop-in checks, first settings, the port plan."""
    seen = set()
    out = []

    def walk(path, depth, match):
        if depth > INCLUDE_DEPTH or path in seen:
            return
        seen.add(path)
        data = read(path)
        if data is None:
            return
        for number, raw in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
            words = split_line(raw)
            if words is None:
                continue
            keyword, args = words
            if keyword == "match":
                match = args
            out.append((path, number, keyword, args, match))
            if keyword == "include":
                for pattern in include_patterns(args):
                    for sub in glob(pattern):
                        walk(sub, depth + 1, match)

    walk(main, 0, None)
    return out


def _conditional(match):
    """Whether a directive under this Match applies to some connections only."""
    return match is not None and [a.lower() for a in match] != ["all"]


def find_include(read, glob, target, main=SSHD_CONFIG):
    """How sshd reaches the file ``target`` from ``main``: dict(found, where,
    conditional) - ``where`` the (file, line, pattern) of the Include that
    covers it, ``conditional`` True when that Include stands in a Match block
    (then the file applies only to the connections the Match selects).
    ``target`` need not exist yet. Pure apart from the two readers (see
    ``directives``)."""
    for path, number, keyword, args, match in directives(read, glob, main):
        if keyword == "include":
            for pattern in include_patterns(args):
                if glob_matches(pattern, target):
                    return dict(found=True, where=(path, number, pattern), conditional=_conditional(match))
    return dict(found=False, where=None, conditional=False)


def not_included_problem(read, glob, target, what, main=SSHD_CONFIG):
    """Why sshd would not apply the drop-in ``target`` (``what`` it carries),
    or None. Pure apart from the readers (see ``find_include``)."""
    got = find_include(read, glob, target, main)
    if got["found"] and not got["conditional"]:
        return None
    if got["found"]:
        path, number, pattern = got["where"]
        return ("sshd reads %s only inside a Match block (%s:%d Include %s), so %s would apply to some "
                "connections only; nothing was changed. Fix: move that Include before the first Match "
                "block, at the top of the file" % (target, path, number, pattern, what))
    if read(main) is None:
        return "sshd's configuration %s is missing, so %s cannot take effect; nothing was changed" % (main, what)
    return ("sshd does not read %s: no Include in %s (or the files it includes) covers it - another tool "
            "rewrote sshd_config without one (devsec.hardening's ssh_hardening does) - so %s would "
            "silently not take effect; nothing was changed. Fix: %s, then run again"
            % (target, main, what, INCLUDE_FIX))


def require_included(host, target, what, prefix=""):
    """Plan phase: raise PolicyError (nothing written yet) when sshd would not
    read the drop-in ``target`` that this run keeps or writes."""
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
    problem = not_included_problem(host.read, host.glob, target, what)
    if problem:
        raise PolicyError(prefix + problem)


def dropins_not_included(read, glob, dropin_dir=DROPIN_DIR, main=SSHD_CONFIG):
    """The ``*.conf`` files of ``dropin_dir`` that sshd does not read (for the audit)."""
    return [p for p in glob(os.path.join(dropin_dir, "*.conf"))
            if not find_include(read, glob, p, main)["found"]]


def first_setting(read, glob, keywords, main=SSHD_CONFIG):
    """The line sshd takes a global option from - the first one outside any
    Match block, includes followed in order (sshd keeps the first value it
    reads): (file, line, keyword, args) or None. ``keywords``: lower-case
    names, aliases included (kbdinteractiveauthentication and
    challengeresponseauthentication are one option)."""
    for path, number, keyword, args, match in directives(read, glob, main):
        if keyword in keywords and match is None:
            return (path, number, keyword, args)
    return None


def ports(read, glob, main=SSHD_CONFIG, skip=()):
    """[(port, file)] of every Port line sshd reads (it accumulates them; Port
    is not allowed in a Match block), files in ``skip`` left out. No Port at
    all means 22 (``ports_or_default``)."""
    out = []
    for path, _number, keyword, args, match in directives(read, glob, main):
        if keyword == "port" and match is None and path not in skip and args and args[0].isdigit():
            out.append((int(args[0]), path))
    return out


def ports_or_default(read, glob, main=SSHD_CONFIG):
    found = []
    for port, _path in ports(read, glob, main):
        if port not in found:
            found.append(port)
    return found or [22]


KBD_KEYWORDS = ("kbdinteractiveauthentication", "challengeresponseauthentication")

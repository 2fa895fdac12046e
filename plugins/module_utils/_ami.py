# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AMI (manager.conf) core: validate -> plan (pure) -> apply -> verify -> restore.

A managed user is a section of manager.conf carrying the MARKER comment.
Everything else in the file (and in files it includes) is hand-written and is
never touched; a name defined both ways is an error."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, File, Plan
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, NAME_MAX, load_tree, resolve_include,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    run_cli, parse_colon_table, ASTERISK_LOG, log_offset, log_since,
)

MARKER = "managed by pbxguard.asterisk"
MARKER_COMMENT = "%s (ami): changes made here are overwritten" % MARKER

# Classes as Asterisk 22 knows them (main/manager.c perms[]). Some only make
# sense one way: command/originate/config guard actions (write), the others
# below are event streams (read).
ALL_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config",
               "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
               "test", "security", "message", "all")
WRITE_ONLY = ("command", "originate", "config")
READ_ONLY = ("log", "verbose", "dtmf", "cdr", "dialplan", "cc", "security")
READ_CLASSES = tuple(c for c in ALL_CLASSES if c not in WRITE_ONLY)
WRITE_CLASSES = tuple(c for c in ALL_CLASSES if c not in READ_ONLY)
DENY_ALL = ("0.0.0.0/0.0.0.0", "::/0")


def fold(name):
    """A manager user name as manager.c compares it: case-insensitively
    (get_manager_by_name_locked uses strcasecmp), 79 characters kept."""
    return name.lower()[:NAME_MAX]


def _classes(values, option, allowed, wrong_way, way):
    if values is None:
        return []
    if not isinstance(values, list):
        raise policy.PolicyError("%s: must be a list of classes" % option)
    out = []
    for j, v in enumerate(values):
        # the element is named, as every list option's errors name it (permit[0] ...)
        elem = "%s[%d]" % (option, j)
        if not isinstance(v, str):
            raise policy.PolicyError("%s: class %r must be a string" % (elem, v))
        v = v.strip().lower()
        if v in wrong_way:
            raise policy.PolicyError(
                "%s: class '%s' is meaningful only as a %s class; %s classes are: %s"
                % (elem, v, "write" if way == "read" else "read", way, ", ".join(allowed)))
        if v not in allowed:
            raise policy.PolicyError("%s: unknown class '%s'; %s classes are: %s"
                                     % (elem, v, way, ", ".join(allowed)))
        if v not in out:
            out.append(v)
    return out


def validate(params):
    """Check every option before anything is read or written. Returns
    (general, users) in canonical form; raises PolicyError naming option and rule."""
    errors = []
    general = {"enabled": bool(params.get("enabled", True))}
    try:
        general["bindaddr"] = policy.check_ip(params.get("bind_address"), "bind_address")
    except policy.PolicyError as e:
        errors.append(str(e))
    try:
        general["port"] = policy.check_port(params.get("port"), "port")
    except policy.PolicyError as e:
        errors.append(str(e))
    users = []
    seen = {}
    allow_weak = bool(params.get("allow_weak_secrets"))
    for i, u in enumerate(params.get("users") or []):
        label = "users[%d]" % i
        try:
            # manager.c keeps 79 characters of a user name (username[80])
            name = policy.check_name(u.get("name"), label + ".name", max_length=NAME_MAX)
        except policy.PolicyError as e:
            errors.append(str(e))
            continue
        label = "users[%d] (%s)" % (i, name)
        if name.lower() == "general":
            errors.append("%s.name: 'general' is manager.conf's settings section, not a user" % label)
            continue
        if fold(name) in seen:
            errors.append("%s.name: listed twice (also users[%d]; Asterisk compares manager user names "
                          "case-insensitively)" % (label, seen[fold(name)]))
            continue
        seen[fold(name)] = i
        state = u.get("state") or "present"
        user = {"name": name, "state": state}
        try:
            if state == "present":
                if u.get("secret") in (None, ""):
                    raise policy.PolicyError("%s.secret: required when state is present "
                                             "(a user without secret cannot log in)" % label)
                user["secret"] = policy.check_secret(u.get("secret"), label + ".secret",
                                                     allow_weak=allow_weak)
                user["permit"] = [policy.parse_network(p, "%s.permit[%d]" % (label, j))
                                  for j, p in enumerate(u.get("permit") or [])]
                user["read"] = _classes(u.get("read"), label + ".read", READ_CLASSES,
                                        WRITE_ONLY, "read")
                user["write"] = _classes(u.get("write"), label + ".write", WRITE_CLASSES,
                                         READ_ONLY, "write")
        except policy.PolicyError as e:
            errors.append(str(e))
            continue
        users.append(user)
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return general, users


def user_pairs(user):
    pairs = [("secret", user["secret"])]
    pairs += [("deny", d) for d in DENY_ALL]
    pairs += [("permit", p) for p in user["permit"]]
    pairs.append(("read", ",".join(user["read"])))
    pairs.append(("write", ",".join(user["write"])))
    return pairs


def is_managed(section):
    return section.has_comment(MARKER)


def hand_written_users(path, cfg, files=None):
    """{name: 'file:line'} of user sections not managed by this module, in
    manager.conf itself and in every file it includes (read through
    ``files``, the planner's Host; default the local disk)."""
    found = {}
    for s in cfg.sections:
        if s.name != "general" and not is_managed(s):
            found.setdefault(fold(s.name), "%s:%d" % (path, s.header.number))
    base = os.path.dirname(path)
    seen = set([(files or LOCAL).realpath(path)])
    for inc in cfg.includes():
        for p in resolve_include(base, inc.argument, files):
            for c in load_tree(p, seen, base, files):
                for s in c.sections:
                    if s.name != "general":
                        found.setdefault(fold(s.name), "%s:%d" % (c.path, s.header.number))
    return found


def plan(path, data, general, users, purge, files=None):
    """Pure: the new manager.conf and what changes. ``data`` is the current
    content (bytes) or None; included files are read through ``files``."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    hand = hand_written_users(path, cfg, files)
    clashes = []
    for i, u in enumerate(users):
        if fold(u["name"]) in hand:
            clashes.append("users (%s): a user of that name is defined by hand at %s (Asterisk compares "
                           "user names case-insensitively); remove or rename it there, this module does "
                           "not take over hand-written users" % (u["name"], hand[fold(u["name"])]))
    if clashes:
        raise policy.PolicyError("\n".join(clashes))

    g = cfg.first("general")
    if g is None:
        g = cfg.add_section("general")
        cfg.sections.insert(0, cfg.sections.pop())
    g.set("enabled", "yes" if general["enabled"] else "no")
    g.set("port", str(general["port"]))
    g.set("bindaddr", general["bindaddr"])

    managed = {}
    for s in list(cfg.sections):
        if is_managed(s):
            if fold(s.name) in managed:  # duplicate managed section: keep the first
                cfg.remove_section(s)
            else:
                managed[fold(s.name)] = s
    added, updated, removed = [], [], []
    wanted = set()
    for u in users:
        wanted.add(fold(u["name"]))
        s = managed.get(fold(u["name"]))
        if u["state"] == "absent":
            if s is not None:
                cfg.remove_section(s)
                removed.append(u["name"])
            continue
        pairs = user_pairs(u)
        if s is None:
            cfg.add_section(u["name"], pairs, comments=[MARKER_COMMENT])
            added.append(u["name"])
        elif s.items() != pairs or s.options:
            s.header.raw = "[%s]%s" % (u["name"], s.header.raw[len(s.header.raw.rstrip("\r\n")):])
            s.header.value = []
            s.replace_body(pairs, comments=[MARKER_COMMENT])
            updated.append(u["name"])
    if purge:
        for folded, s in managed.items():
            if folded not in wanted:
                cfg.remove_section(s)
                removed.append(s.name)
    new = cfg.to_bytes()
    present = [u for u in users if u["state"] == "present"]
    after = []
    for sec in cfg.sections:
        if is_managed(sec):
            acl = [(k, v) for k, v in sec.items() if k in ("deny", "permit", "acl")]
            after.append({
                "name": sec.name,
                "permit": [v for k, v in acl if k == "permit"],
                "read": [c for c in (sec.get("read") or "").split(",") if c],
                "write": [c for c in (sec.get("write") or "").split(",") if c],
                "restricted": acl[:2] == [("deny", d) for d in DENY_ALL],
            })
    return {
        "managed_after": after,
        "data": new,
        "added": added,
        "updated": updated,
        "removed": sorted(removed),
        "present": present,
        "unmanaged_users": sorted(hand),
    }


def _perm_set(text):
    text = (text or "").strip()
    if text in ("", "<none>", "(none)"):
        return set()
    return set(p.strip() for p in text.split(",") if p.strip())


def verify(module, general, present, removed):
    """Read the live state back. Returns a list of problems (empty = all good)."""
    problems = []
    settings = parse_colon_table(run_cli(module, "manager show settings"))
    live_enabled = settings.get("Manager (AMI)", "").lower() == "yes"
    if live_enabled != general["enabled"]:
        problems.append("manager show settings: 'Manager (AMI): %s', expected %s"
                        % (settings.get("Manager (AMI)"), "Yes" if general["enabled"] else "No"))
    if general["enabled"]:
        want = "%s:%d" % (general["bindaddr"], general["port"])
        if ":" in general["bindaddr"]:
            want = "[%s]:%d" % (general["bindaddr"], general["port"])
        got = settings.get("TCP Bindaddress", "")
        if got != want:
            problems.append("manager show settings: TCP Bindaddress is %r, expected %r" % (got, want))
    for u in present:
        out = run_cli(module, "manager show user %s" % u["name"])
        table = parse_colon_table(out)
        if table.get("username") != u["name"]:
            problems.append("user %s was not loaded by Asterisk (manager show user: %s)"
                            % (u["name"], out.strip().splitlines()[0] if out.strip() else "no output"))
            continue
        for key, field in (("read", "read perm"), ("write", "write perm")):
            if _perm_set(table.get(field)) != set(u[key]) and not (
                    "all" in u[key] and _perm_set(table.get(field))):
                problems.append("user %s: live %s is %r, expected %r"
                                % (u["name"], field, table.get(field), ",".join(u[key])))
        if table.get("ACL", "").lower() != "yes":
            problems.append("user %s: live ACL is %r, expected yes" % (u["name"], table.get("ACL")))
    for name in removed:
        out = run_cli(module, "manager show user %s" % name)
        if "There is no manager called" not in out:
            problems.append("user %s is still loaded after its removal" % name)
    return problems


def reload_manager(module):
    out = run_cli(module, "manager reload")
    return out.strip()


def summary(general, users, unmanaged):
    n = len(users)
    unrestricted = [u["name"] for u in users if not u["restricted"]]
    if general["enabled"]:
        text = "AMI: enabled on %s:%d, %d managed user%s%s" % (
            general["bindaddr"], general["port"], n, "" if n == 1 else "s",
            (", all restricted" if not unrestricted else ", UNRESTRICTED: " + ", ".join(unrestricted))
            if n else "")
    else:
        text = "AMI: disabled (%d managed user%s kept in manager.conf)" % (n, "" if n == 1 else "s")
    if unmanaged:
        text += "; %d hand-written user(s) left alone: %s" % (len(unmanaged), ", ".join(unmanaged))
    return text


class AmiChange(Change):
    """manager.conf: one file, ``manager reload``, users read back."""

    name = "ami"

    def validate(self, params):
        general, users = validate(params)
        return dict(general=general, users=users, path=params["config_file"],
                    purge=params["purge_users"], backup=params["backup"])

    def plan(self, host, spec):
        path, general = spec["path"], spec["general"]
        old = host.read(path)
        planned = plan(path, old, general, spec["users"], spec["purge"], host)
        f = File(path, old, planned["data"], backup=spec["backup"],
                 attributes_differ=old is not None and host.attributes_differ(path))
        result = dict(reloaded=False, added=planned["added"], updated=planned["updated"],
                      removed=planned["removed"], unmanaged_users=planned["unmanaged_users"],
                      users=planned["managed_after"],
                      summary=summary(general, planned["managed_after"], planned["unmanaged_users"]))
        bindings = None
        if f.content_changed and general.get("enabled", True):
            # AMI's TCP listener must not clash with another service's (sshd on 22 ...)
            bindings = ([portplan.AMI], [portplan.Binding(portplan.AMI, "tcp", general["port"],
                                                          general.get("bindaddr", ""), source="task")])
        offset = []

        def apply(h):
            offset.append(log_offset(ASTERISK_LOG))
            reload_manager(h)
            return dict(reloaded=True)

        def verify_live(h):
            if not f.content_changed:  # only owner/mode were fixed
                return []
            return verify(h, general, planned["present"], planned["removed"])

        return Plan(result, [f], bindings=bindings, apply=apply, verify=verify_live,
                    revert=reload_manager,
                    said=lambda: log_since(ASTERISK_LOG, offset[0] if offset else None),
                    failure="Asterisk did not take the new %s; the previous file was restored "
                            "and reloaded" % path,
                    secrets=[u["secret"] for u in planned["present"] if u.get("secret")])

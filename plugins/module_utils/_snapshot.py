# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout snapshots: every file the baseline manages (fixed paths and glob
patterns for per-user drop-ins) and the state of the systemd units it switches
on and off. Pure helpers (what to save, what a restore must put back and
which reloads/restarts that needs, in which order) and ``SnapshotChange``,
which runs save, restore and removal on the change transaction
(_transaction.py): every file a restore puts back (and every snapshot file
written or removed) is a ``File`` of the plan, the reloads and unit steps
are its apply, the units' states are read back in verify; when any of it
fails the files are put back as they were before and the task fails."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import grp
import hashlib
import json
import os
import pwd
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import AsteriskCliError, run_cli
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import (
    PolicyError, check_name, check_unit_name, path_component)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._sip_transport import (
    SipTransportError, restart as restart_asterisk)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)

# everything the baseline role's modules write (not user accounts: /etc/shadow
# and /etc/passwd are never restored wholesale)
DEFAULT_PATHS = [
    "/etc/asterisk/manager.conf", "/etc/asterisk/pjsip.conf", "/etc/asterisk/pjsip_pbxguard.conf",
    "/etc/asterisk/pjsip_transport_pbxguard.conf", "/etc/asterisk/iax.conf", "/etc/asterisk/iax_pbxguard.conf",
    "/etc/asterisk/voicemail.conf", "/etc/asterisk/http.conf", "/etc/asterisk/ari.conf",
    "/etc/asterisk/modules.conf", "/etc/asterisk/logger.conf", "/etc/kea/kea-dhcp4.conf",
    "/etc/ssh/sshd_config", "/etc/pam.d/sshd", "/etc/vsftpd.conf", "/etc/msmtprc",
    "/etc/nftables.conf", "/etc/nftables.d/pbxguard.nft",
    "/etc/systemd/system/tftpd-hpa.service.d/10-pbxguard.conf",
    "/etc/systemd/system/tftpd-hpa.socket.d/10-pbxguard.conf",
    "/etc/systemd/system/pbxguard-web-redirect.service", "/usr/local/lib/pbxguard/web-redirect.py",
    "/etc/fail2ban/jail.d/pbxguard.local",
    "/etc/asterisk/extensions.conf", "/etc/asterisk/extensions_pbxguard.conf",
]
DEFAULT_GLOBS = [
    "/etc/ssh/sshd_config.d/*pbxguard*.conf", "/etc/pbxguard/admin/*",
    "/root/.google_authenticator", "/home/*/.google_authenticator",
]
# ssh.service is left alone on purpose: a rollback never stops the way in
DEFAULT_UNITS = [
    "vsftpd.service", "tftpd-hpa.socket", "tftpd-hpa.service", "kea-dhcp4-server.service",
    "pbxguard-web-redirect.service", "fail2ban.service",
]

# (test on a changed path, tool, command); run in this order, each at most once
ASTERISK_RELOADS = (
    (lambda p: os.path.basename(p) == "pjsip_transport_pbxguard.conf", "restart", "asterisk"),
    (lambda p: os.path.basename(p) == "logger.conf", "asterisk", "logger reload"),
    (lambda p: os.path.basename(p) == "manager.conf", "asterisk", "manager reload"),
    (lambda p: os.path.basename(p).startswith("pjsip"), "asterisk", "module reload res_pjsip.so"),
    (lambda p: os.path.basename(p).startswith("iax"), "asterisk", "iax2 reload"),
    (lambda p: os.path.basename(p) == "voicemail.conf", "asterisk", "voicemail reload"),
    (lambda p: os.path.basename(p) == "http.conf", "asterisk", "module reload http"),
    (lambda p: os.path.basename(p) == "ari.conf", "asterisk", "module reload res_ari.so"),
    (lambda p: os.path.basename(p).startswith("extensions"), "asterisk", "dialplan reload"),
)
# changed path -> units to restart (when they are to be active afterwards)
UNIT_FILES = (
    ("/etc/vsftpd.conf", ["vsftpd.service"]),
    ("/etc/kea/kea-dhcp4.conf", ["kea-dhcp4-server.service"]),
    ("/etc/systemd/system/tftpd-hpa.", ["tftpd-hpa.socket", "tftpd-hpa.service"]),
    ("/etc/systemd/system/pbxguard-web-redirect.service", ["pbxguard-web-redirect.service"]),
    ("/usr/local/lib/pbxguard/web-redirect.py", ["pbxguard-web-redirect.service"]),
    ("/etc/fail2ban/", ["fail2ban.service"]),
)


def expand(paths, globs, files=LOCAL):
    """The files a snapshot covers: ``paths`` as given, then whatever the
    glob patterns match now (sorted, no duplicates)."""
    out = list(paths)
    for pattern in globs:
        for p in files.glob(pattern):
            if p not in out and files.isfile(p):
                out.append(p)
    return out


def strays(globs, saved_paths, files=LOCAL):
    """Files matching a snapshot's glob patterns now that it did not hold:
    created after the snapshot, so a restore removes them."""
    out = []
    for pattern in globs:
        for p in files.glob(pattern):
            if p not in saved_paths and p not in out and files.isfile(p):
                out.append(p)
    return out


def restore_actions(touched, exists=os.path.exists):
    """What a restore of the ``touched`` paths must run, in order:
    (kind, argument) with kind daemon-reload, nft-load, nft-delete, restart,
    asterisk; and the units whose files changed. ``exists(path)``: whether
    the path exists once the restore is written."""
    actions = []
    if any(p.startswith("/etc/systemd/system/") for p in touched):
        actions.append(("daemon-reload", None))
    for p in touched:
        if p == "/etc/nftables.d/pbxguard.nft":
            actions.append(("nft-load" if exists(p) else "nft-delete", p))
    for test, tool, command in ASTERISK_RELOADS:
        if any(test(p) for p in touched) and (tool, command) not in actions:
            if tool == "asterisk" and ("restart", "asterisk") in actions:
                continue  # a restart reads every file anyway
            actions.append((tool, command))
    if any(os.path.basename(p) == "sshd_config" or fnmatch.fnmatch(p, "/etc/ssh/sshd_config.d/*") for p in touched):
        actions.append(("reload-ssh", None))
    units = []
    for prefix, names in UNIT_FILES:
        if any(p.startswith(prefix) for p in touched):
            units.extend(n for n in names if n not in units)
    return actions, units


def unit_steps(saved, now, files_changed_units):
    """systemctl steps that bring units from ``now`` back to ``saved`` (both
    {unit: {"enabled": str, "active": str}}; units missing on the host are
    skipped), restarting those whose files changed and that stay active."""
    steps = []
    for unit, want in sorted(saved.items()):
        have = now.get(unit)
        if not have:
            continue
        if want.get("enabled") in (None, "not-found"):
            # the unit did not exist then: its file is gone again, stop what still runs
            if have.get("active") == "active":
                steps.append(["stop", unit])
            continue
        if have.get("enabled") == "not-found":
            continue
        if want["enabled"] != have["enabled"]:
            if want["enabled"] == "masked":
                steps.append(["mask", unit])
            elif have["enabled"] == "masked":
                steps.append(["unmask", unit])
                if want["enabled"] == "enabled":
                    steps.append(["enable", unit])
            elif want["enabled"] == "enabled":
                steps.append(["enable", unit])
            elif want["enabled"] == "disabled":
                steps.append(["disable", unit])
        want_active = want.get("active") == "active"
        have_active = have.get("active") == "active"
        if want_active and not have_active:
            steps.append(["start", unit])
        elif not want_active and have_active:
            steps.append(["stop", unit])
        elif want_active and unit in files_changed_units:
            steps.append(["restart", unit])
    return steps


# ------------------------------------------------------------ the change
STORE = dict(owner="root", group="root", mode=0o600, diff=False)  # snapshot files hold secrets
STORE_DIR_MODE = 0o700
LABELS = {"daemon-reload": "systemctl daemon-reload", "nft-delete": "nft delete table inet pbxguard",
          "restart": "systemctl restart asterisk", "reload-ssh": "systemctl reload ssh"}


def _sha(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


def unit_states(host, units):
    out = {}
    for u in units:
        dummy, en, dummy2 = host.run_command(["systemctl", "is-enabled", u])
        dummy, act, dummy2 = host.run_command(["systemctl", "is-active", u])
        en = (en or "").strip() or "not-found"
        out[u] = {"enabled": "not-found" if en.startswith("Failed") else en, "active": (act or "").strip()}
    return out


def action_label(kind, arg):
    return "nft -f %s" % arg if kind == "nft-load" else LABELS.get(kind, arg)


def run_action(host, kind, arg):
    """One reload of a restore; raises ChangeError with the tool's words."""
    if kind == "asterisk":
        run_cli(host, arg, timeout=60)
        return
    if kind == "restart":
        try:
            restart_asterisk(host)
        except SipTransportError as e:
            raise ChangeError(str(e))
        return
    cmd = {"daemon-reload": ["systemctl", "daemon-reload"], "nft-load": ["nft", "-f", arg or ""],
           "nft-delete": ["nft", "delete", "table", "inet", "pbxguard"],
           "reload-ssh": ["systemctl", "reload", "ssh"]}[kind]
    rc, out, err = host.run_command(cmd)
    if rc != 0 and kind != "nft-delete":  # the table may already be gone
        raise ChangeError("'%s' failed: %s" % (action_label(kind, arg), (err or out).strip()))


def step_problems(host, steps, seconds=10):
    """What the units say after the ``steps`` (empty: each holds)."""
    deadline = time.time() + seconds
    while True:
        problems = []
        now = unit_states(host, sorted(set(unit for dummy, unit in steps)))
        for verb, unit in steps:
            have = now[unit]
            if verb in ("enable", "disable", "mask") and have["enabled"] != verb + "d":
                problems.append("%s is %s after 'systemctl %s'" % (unit, have["enabled"], verb))
            elif verb in ("start", "restart") and have["active"] != "active":
                problems.append("%s is %s after 'systemctl %s'" % (unit, have["active"], verb))
            elif verb == "stop" and have["active"] == "active":
                problems.append("%s is still active after 'systemctl stop'" % unit)
        if not problems or time.time() > deadline:
            return problems
        time.sleep(0.5)


class SnapshotChange(Change):
    """saved: the files and unit states into the store; restored: back onto
    the host, with the reloads and unit steps that takes; absent: the store
    entry removed."""

    name = "snapshot"

    def validate(self, params):
        # the name becomes a directory under the store: it can never leave it
        name = path_component(check_name(params["name"], "name"), "name")
        # unit names go into the manifest and to systemctl on restore (found by test_fuzz.py:
        # ';vsftpd.service' and '../x.service' were taken)
        problems = []
        for i, unit in enumerate(params["units"]):
            try:
                check_unit_name(unit, "units[%d]" % i)
            except PolicyError as e:
                problems.append(str(e))
        if problems:
            raise PolicyError("\n".join(problems))
        for i, unit in enumerate(params["units"]):
            if unit in ("ssh.service", "sshd.service"):
                # the element is named (found by test_fuzz.py: the message said only 'units')
                raise PolicyError("units[%d]: %s cannot be part of a snapshot (a rollback never stops the way in)"
                                  % (i, unit))
        return dict(params, name=name, snap=os.path.join(params["directory"], name))

    def plan(self, host, spec):
        return {"absent": self._absent, "saved": self._saved, "restored": self._restored}[spec["state"]](host, spec)

    def _absent(self, host, spec):
        snap = spec["snap"]
        result = dict(files=[], reloaded=[], units=[])
        if not host.isdir(snap):
            return Plan(result)
        names = host.listdir(snap)
        gone = [File(os.path.join(snap, n), host.read(os.path.join(snap, n)), None, diff=False)
                for n in names if host.isfile(os.path.join(snap, n))]

        def apply(h):
            os.rmdir(snap)  # empty now: its files were the plan's
        return Plan(result, gone, changed=True, apply=apply)

    def _saved(self, host, spec):
        snap, directory = spec["snap"], spec["directory"]
        manifest_path = os.path.join(snap, "manifest.json")
        entries, blobs = [], []
        for i, path in enumerate(expand(spec["paths"], spec["globs"], host)):
            data = host.read(path)
            e = {"path": path, "existed": data is not None, "sha256": _sha(data), "blob": "f%03d" % i}
            if data is not None:
                st = host.stat(path)
                e.update(uid=st.st_uid, gid=st.st_gid, mode=st.st_mode & 0o7777)
                blob = os.path.join(snap, e["blob"])
                blobs.append(File(blob, host.read(blob), data, make_dirs=STORE_DIR_MODE,
                                  attributes_differ=host.attributes_differ(blob, STORE["owner"], STORE["group"],
                                                                           STORE["mode"]), **STORE))
            entries.append(e)
        manifest = {"files": entries, "globs": spec["globs"], "units": unit_states(host, spec["units"])}
        old = host.read(manifest_path)
        try:
            same = old is not None and json.loads(old.decode("utf-8")) == manifest
        except (ValueError, UnicodeDecodeError):
            same = False
        # the manifest last: it never names a blob that is not written yet
        files = blobs + [File(manifest_path, old, old if same else json.dumps(manifest, indent=1).encode("utf-8"),
                              make_dirs=STORE_DIR_MODE, **STORE)]
        loose = [d for d in (directory, snap) if host.isdir(d) and host.stat(d).st_mode & 0o777 != STORE_DIR_MODE]

        def apply(h):
            for d in (directory, snap):  # a new store's parents come from makedirs with the umask
                os.chmod(d, STORE_DIR_MODE)
        return Plan(dict(files=[e["path"] for e in entries if e["existed"]], reloaded=[], units=[]), files,
                    changed=bool(loose), apply=apply)

    def _restored(self, host, spec):
        name, snap = spec["name"], spec["snap"]
        data = host.read(os.path.join(snap, "manifest.json"))
        if data is None:
            raise PolicyError("name: no snapshot '%s' in %s" % (name, spec["directory"]))
        try:
            manifest = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise PolicyError("snapshot %s is damaged: its manifest is not JSON" % name)
        if isinstance(manifest, list):  # snapshots of 0.1.0 before units and globs
            manifest = {"files": manifest, "globs": [], "units": {}}
        entries = manifest["files"]
        files = []
        for e in entries:
            current = host.read(e["path"])
            if not e["existed"]:
                files.append(File(e["path"], current, None, diff=False))
                continue
            saved = host.read(os.path.join(snap, e["blob"]))
            if _sha(saved) != e["sha256"]:
                raise PolicyError("snapshot %s is damaged: %s does not match its manifest" % (name, e["path"]))
            try:
                owner, group = pwd.getpwuid(e["uid"]).pw_name, grp.getgrgid(e["gid"]).gr_name
            except KeyError:
                raise PolicyError("snapshot %s: the owner %d:%d of %s no longer exists on the host"
                                  % (name, e["uid"], e["gid"], e["path"]))
            st = host.stat(e["path"]) if current is not None else None
            same_attrs = st is not None and (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (
                e["uid"], e["gid"], e["mode"])
            files.append(File(e["path"], current, saved, owner, group, e["mode"], attributes_differ=not same_attrs,
                              make_dirs=0o755, diff=False))
        for stray in strays(manifest.get("globs") or [], [e["path"] for e in entries], host):
            files.append(File(stray, host.read(stray), None, diff=False))
        after = dict((f.path, f.new is not None) for f in files)
        touched = [f.path for f in files if f.changed]
        actions, changed_units = restore_actions(touched, exists=lambda p: after.get(p, host.exists(p)))
        saved_units = manifest.get("units") or {}
        before_units = unit_states(host, list(saved_units))
        steps = unit_steps(saved_units, before_units, changed_units)
        result = dict(files=touched, reloaded=[action_label(k, a) for k, a in actions],
                      units=[" ".join(s) for s in steps])

        failure = "the restore of snapshot %s did not hold; the files were put back as they were before it" % name

        done = []

        def apply(h):
            try:
                for kind, arg in actions:
                    run_action(h, kind, arg)
                # read again: a daemon-reload of restored unit files can change what they say
                done[:] = unit_steps(saved_units, unit_states(h, list(saved_units)), changed_units)
                for step in done:
                    rc, out, err = h.run_command(["systemctl"] + step)
                    if rc != 0:
                        raise ChangeError("'systemctl %s' failed: %s" % (" ".join(step), (err or out).strip()))
            except (ChangeError, AsteriskCliError) as e:
                raise ChangeError("%s: %s" % (failure, e))
            return dict(units=[" ".join(s) for s in done])

        def verify_units(h):
            return step_problems(h, done)

        def revert(h):
            # the files are as before the restore again: the daemons read them, the units go back
            back, dummy = restore_actions(touched)
            for kind, arg in back:
                try:
                    run_action(h, kind, arg)
                except Exception:  # pylint: disable=broad-except
                    pass
            for step in unit_steps(before_units, unit_states(h, list(saved_units)), changed_units):
                h.run_command(["systemctl"] + step)

        return Plan(result, files, changed=bool(steps), apply=apply, verify=verify_units, revert=revert,
                    failure=failure)

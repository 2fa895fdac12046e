# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout snapshots: every file the baseline manages (fixed paths and glob
patterns for per-user drop-ins) and the state of the systemd units it switches
on and off. Pure helpers here (what to save, what a restore must put back and
which reloads/restarts that needs, in which order); the module runs them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import glob
import os

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


def expand(paths, globs):
    """The files a snapshot covers: ``paths`` as given, then whatever the
    glob patterns match now (sorted, no duplicates)."""
    out = list(paths)
    for pattern in globs:
        for p in sorted(glob.glob(pattern)):
            if p not in out and os.path.isfile(p):
                out.append(p)
    return out


def strays(globs, saved_paths):
    """Files matching a snapshot's glob patterns now that it did not hold:
    created after the snapshot, so a restore removes them."""
    out = []
    for pattern in globs:
        for p in sorted(glob.glob(pattern)):
            if p not in saved_paths and p not in out and os.path.isfile(p):
                out.append(p)
    return out


def restore_actions(touched):
    """What a restore of the ``touched`` paths must run, in order:
    (kind, argument) with kind daemon-reload, nft-load, nft-delete, restart,
    asterisk; and the units whose files changed."""
    actions = []
    if any(p.startswith("/etc/systemd/system/") for p in touched):
        actions.append(("daemon-reload", None))
    for p in touched:
        if p == "/etc/nftables.d/pbxguard.nft":
            actions.append(("nft-load" if os.path.exists(p) else "nft-delete", p))
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

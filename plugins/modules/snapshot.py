#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: snapshot
short_description: Save and restore the files the pbxguard baseline manages (rollout backups)
version_added: 0.1.0
description:
  - V(saved) copies every listed file that exists and every file the glob patterns match
    (content, owner, group, mode) into C(/var/backups/pbxguard/NAME/) (directory 0700, root only,
    because the files hold secrets) with a manifest, and records whether each listed systemd unit
    is enabled and active.
  - V(restored) puts every file back exactly as saved (and removes files that did not exist then,
    including files matching a glob pattern that appeared since), writing atomically, then reloads
    only what the changed files concern - C(systemctl daemon-reload) for unit files, the nftables
    table C(inet pbxguard) from its file (or deletes it), C(logger reload), C(manager reload),
    C(module reload res_pjsip.so), C(iax2 reload), C(voicemail reload), C(module reload http),
    C(module reload res_ari.so), C(systemctl reload ssh); an Asterisk restart only when the SIP
    transports file changed (transports are not reloadable) - and brings every unit back to its
    saved enabled/active state (restarting units whose files changed).
  - C(ssh.service) is never stopped or disabled by a restore; user accounts (C(/etc/shadow)) are
    not part of a snapshot.
  - V(absent) deletes the snapshot.
author:
  - pbxguard.asterisk contributors (@pbxguard)
attributes:
  check_mode:
    support: full
    description: Reports what would be saved or restored; writes nothing.
  diff_mode:
    support: none
    description: Files hold secrets; only their names are reported.
  safe_file_operations:
    support: full
    description: Restores go through a temp file and C(atomic_move).
  idempotent:
    support: full
    description: Restoring twice changes nothing the second time; saving identical content reports no change.
options:
  name:
    description: Snapshot name (letters, digits, C(_ . @ + -)); a directory inside O(directory), so not C(.) or C(..).
    type: str
    required: true
  state:
    description: What to do.
    type: str
    choices: [saved, restored, absent]
    default: saved
  paths:
    description:
      - Files to include when saving (a file missing then is removed again by a restore).
      - The default is every file the baseline role's modules write.
    type: list
    elements: path
    default: [/etc/asterisk/manager.conf, /etc/asterisk/pjsip.conf, /etc/asterisk/pjsip_pbxguard.conf,
              /etc/asterisk/pjsip_transport_pbxguard.conf, /etc/asterisk/iax.conf, /etc/asterisk/iax_pbxguard.conf,
              /etc/asterisk/voicemail.conf, /etc/asterisk/http.conf, /etc/asterisk/ari.conf,
              /etc/asterisk/modules.conf, /etc/asterisk/logger.conf, /etc/kea/kea-dhcp4.conf,
              /etc/ssh/sshd_config, /etc/pam.d/sshd, /etc/vsftpd.conf, /etc/msmtprc,
              /etc/nftables.conf, /etc/nftables.d/pbxguard.nft,
              /etc/systemd/system/tftpd-hpa.service.d/10-pbxguard.conf,
              /etc/systemd/system/tftpd-hpa.socket.d/10-pbxguard.conf,
              /etc/systemd/system/pbxguard-web-redirect.service, /usr/local/lib/pbxguard/web-redirect.py,
              /etc/fail2ban/jail.d/pbxguard.local]
  globs:
    description:
      - Glob patterns of files with variable names (per-user drop-ins, TOTP files). What they match
        is saved; what matches at restore time but was not saved is removed.
    type: list
    elements: str
    default: [/etc/ssh/sshd_config.d/*pbxguard*.conf, /etc/pbxguard/admin/*, /root/.google_authenticator,
              /home/*/.google_authenticator]
  units:
    description:
      - systemd units whose enabled and active state is saved and restored. Units missing on the
        host are skipped. Do not list C(ssh.service).
    type: list
    elements: str
    default: [vsftpd.service, tftpd-hpa.socket, tftpd-hpa.service, kea-dhcp4-server.service,
              pbxguard-web-redirect.service, fail2ban.service]
  directory:
    description: Where snapshots are kept.
    type: path
    default: /var/backups/pbxguard
"""

EXAMPLES = r"""
- name: Back up before changing anything
  pbxguard.asterisk.snapshot:
    name: "rollout-{{ pbx_rollout_id }}"

- name: Roll back
  pbxguard.asterisk.snapshot:
    name: "rollout-{{ pbx_rollout_id }}"
    state: restored
"""

RETURN = r"""
files:
  description: Files saved, or restored/removed when restoring.
  returned: always
  type: list
  elements: str
reloaded:
  description: Reload and restart commands run (or, in check mode, to run) after a restore.
  returned: always
  type: list
  elements: str
units:
  description: C(systemctl) steps run (or, in check mode, to run) to bring units back to their saved state.
  returned: always
  type: list
  elements: str
  sample: ["start vsftpd.service", "enable vsftpd.service"]
"""

import grp
import hashlib
import json
import os
import pwd
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _snapshot as snapshot
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import (
    check_name, path_component, PolicyError,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import run_cli
from ansible_collections.pbxguard.asterisk.plugins.module_utils._sip_transport import restart as restart_asterisk


def _sha(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


def unit_states(module, units):
    out = {}
    for u in units:
        dummy, en, dummy2 = module.run_command(["systemctl", "is-enabled", u])
        dummy, act, dummy2 = module.run_command(["systemctl", "is-active", u])
        en = (en or "").strip() or "not-found"
        out[u] = {"enabled": "not-found" if en.startswith("Failed") else en, "active": (act or "").strip()}
    return out


def run_actions(module, actions, result):
    for kind, arg in actions:
        label = {"daemon-reload": "systemctl daemon-reload", "nft-load": "nft -f %s" % arg,
                 "nft-delete": "nft delete table inet pbxguard", "restart": "systemctl restart asterisk",
                 "reload-ssh": "systemctl reload ssh"}.get(kind, arg)
        result["reloaded"].append(label)
        if module.check_mode:
            continue
        if kind == "asterisk":
            run_cli(module, arg, timeout=60)
        elif kind == "restart":
            restart_asterisk(module)
        else:
            cmd = {"daemon-reload": ["systemctl", "daemon-reload"], "nft-load": ["nft", "-f", arg or ""],
                   "nft-delete": ["nft", "delete", "table", "inet", "pbxguard"],
                   "reload-ssh": ["systemctl", "reload", "ssh"]}[kind]
            rc, out, err = module.run_command(cmd)
            if rc != 0 and kind != "nft-delete":  # the table may already be gone
                module.fail_json(msg="restored, but '%s' failed: %s" % (label, (err or out).strip()), **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["saved", "restored", "absent"], default="saved"),
            paths=dict(type="list", elements="path", default=list(snapshot.DEFAULT_PATHS)),
            globs=dict(type="list", elements="str", default=list(snapshot.DEFAULT_GLOBS)),
            units=dict(type="list", elements="str", default=list(snapshot.DEFAULT_UNITS)),
            directory=dict(type="path", default="/var/backups/pbxguard"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        name = path_component(check_name(p["name"], "name"), "name")
    except PolicyError as e:
        module.fail_json(msg=str(e))
    if "ssh.service" in p["units"] or "sshd.service" in p["units"]:
        module.fail_json(msg="units: ssh.service cannot be part of a snapshot (a rollback never stops the way in)")
    snap = os.path.join(p["directory"], name)
    manifest_path = os.path.join(snap, "manifest.json")
    result = dict(changed=False, files=[], reloaded=[], units=[])

    if p["state"] == "absent":
        if os.path.isdir(snap):
            result["changed"] = True
            if not module.check_mode:
                shutil.rmtree(snap)
        module.exit_json(**result)

    if p["state"] == "saved":
        entries = []
        for i, path in enumerate(snapshot.expand(p["paths"], p["globs"])):
            data = files.read_bytes(path)
            e = {"path": path, "existed": data is not None, "sha256": _sha(data), "blob": "f%03d" % i}
            if data is not None:
                st = os.stat(path)
                e.update(uid=st.st_uid, gid=st.st_gid, mode=st.st_mode & 0o7777)
            entries.append(e)
        manifest = {"files": entries, "globs": p["globs"], "units": unit_states(module, p["units"])}
        old = None
        if os.path.exists(manifest_path):
            with open(manifest_path) as f:
                old = json.load(f)
        result["files"] = [e["path"] for e in entries if e["existed"]]
        if old == manifest:
            module.exit_json(**result)
        result["changed"] = True
        if not module.check_mode:
            os.makedirs(snap, 0o700) if not os.path.isdir(snap) else None
            os.chmod(p["directory"], 0o700)
            os.chmod(snap, 0o700)
            for e in entries:
                if e["existed"]:
                    shutil.copyfile(e["path"], os.path.join(snap, e["blob"]))
                    os.chmod(os.path.join(snap, e["blob"]), 0o600)
            tmp = manifest_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(manifest, f, indent=1)
            os.rename(tmp, manifest_path)
        module.exit_json(**result)

    # restored
    if not os.path.exists(manifest_path):
        module.fail_json(msg="name: no snapshot '%s' in %s" % (name, p["directory"]))
    with open(manifest_path) as f:
        manifest = json.load(f)
    if isinstance(manifest, list):  # snapshots of 0.1.0 before units and globs
        manifest = {"files": manifest, "globs": [], "units": {}}
    entries = manifest["files"]
    touched = []
    for e in entries:
        current = files.read_bytes(e["path"])
        if not e["existed"]:
            if current is not None:
                touched.append(e["path"])
                if not module.check_mode:
                    os.unlink(e["path"])
            continue
        with open(os.path.join(snap, e["blob"]), "rb") as f:
            saved = f.read()
        if _sha(saved) != e["sha256"]:
            module.fail_json(msg="snapshot %s is damaged: %s does not match its manifest" % (name, e["path"]))
        st = os.stat(e["path"]) if current is not None else None
        same_attrs = st is not None and (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (e["uid"], e["gid"], e["mode"])
        if current != saved or not same_attrs:
            touched.append(e["path"])
            if not module.check_mode:
                files.write_atomic(module, e["path"], saved, owner=pwd.getpwuid(e["uid"]).pw_name,
                                   group=grp.getgrgid(e["gid"]).gr_name, mode=e["mode"])
    for stray in snapshot.strays(manifest.get("globs") or [], [e["path"] for e in entries]):
        touched.append(stray)
        if not module.check_mode:
            os.unlink(stray)
    result["files"] = touched
    actions, changed_units = snapshot.restore_actions(touched)
    try:
        run_actions(module, actions, result)
    except Exception as e:  # pylint: disable=broad-except
        module.fail_json(msg="restored, but %s" % e, **result)
    saved_units = manifest.get("units") or {}
    for step in snapshot.unit_steps(saved_units, unit_states(module, list(saved_units)), changed_units):
        result["units"].append(" ".join(step))
        if not module.check_mode:
            rc, out, err = module.run_command(["systemctl"] + step)
            if rc != 0:
                module.fail_json(msg="restored, but 'systemctl %s' failed: %s" % (" ".join(step), (err or out).strip()),
                                 **result)
    result["changed"] = bool(touched or result["units"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()

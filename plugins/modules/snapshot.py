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
  - V(saved) copies every listed file that exists (content, owner, group, mode) into
    C(/var/backups/pbxguard/NAME/) (directory 0700, root only, because the files hold secrets) with a manifest.
  - V(restored) puts every file back exactly as saved (and removes files that did not exist then),
    writing atomically, then reloads only the Asterisk modules and services whose files changed
    (C(manager reload), C(module reload res_pjsip.so), C(iax2 reload), C(voicemail reload),
    C(module reload http), C(module reload res_ari.so), C(systemctl reload ssh)).
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
    description: Snapshot name (letters, digits, C(_ . @ + -)).
    type: str
    required: true
  state:
    description: What to do.
    type: str
    choices: [saved, restored, absent]
    default: saved
  paths:
    description: Files to include when saving.
    type: list
    elements: path
    default:
      - /etc/asterisk/manager.conf
      - /etc/asterisk/pjsip.conf
      - /etc/asterisk/pjsip_pbxguard.conf
      - /etc/asterisk/iax.conf
      - /etc/asterisk/iax_pbxguard.conf
      - /etc/asterisk/voicemail.conf
      - /etc/asterisk/http.conf
      - /etc/asterisk/ari.conf
      - /etc/kea/kea-dhcp4.conf
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
  description: Reload commands run after a restore.
  returned: always
  type: list
  elements: str
"""

import hashlib
import json
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import check_name, PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import run_cli, AsteriskCliError

RELOADS = (
    ("manager.conf", "asterisk", "manager reload"),
    ("pjsip", "asterisk", "module reload res_pjsip.so"),
    ("iax", "asterisk", "iax2 reload"),
    ("voicemail.conf", "asterisk", "voicemail reload"),
    ("http.conf", "asterisk", "module reload http"),
    ("ari.conf", "asterisk", "module reload res_ari.so"),
    ("sshd_config", "systemctl", "reload ssh"),
    ("kea-dhcp4.conf", "systemctl", "restart kea-dhcp4-server"),
)


def _sha(data):
    return hashlib.sha256(data).hexdigest() if data is not None else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["saved", "restored", "absent"], default="saved"),
            paths=dict(type="list", elements="path", default=[
                "/etc/asterisk/manager.conf", "/etc/asterisk/pjsip.conf", "/etc/asterisk/pjsip_pbxguard.conf",
                "/etc/asterisk/iax.conf", "/etc/asterisk/iax_pbxguard.conf", "/etc/asterisk/voicemail.conf",
                "/etc/asterisk/http.conf", "/etc/asterisk/ari.conf", "/etc/kea/kea-dhcp4.conf"]),
            directory=dict(type="path", default="/var/backups/pbxguard"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        name = check_name(p["name"], "name")
    except PolicyError as e:
        module.fail_json(msg=str(e))
    snap = os.path.join(p["directory"], name)
    manifest_path = os.path.join(snap, "manifest.json")
    result = dict(changed=False, files=[], reloaded=[])

    if p["state"] == "absent":
        if os.path.isdir(snap):
            result["changed"] = True
            if not module.check_mode:
                shutil.rmtree(snap)
        module.exit_json(**result)

    if p["state"] == "saved":
        entries = []
        for i, path in enumerate(p["paths"]):
            data = files.read_bytes(path)
            e = {"path": path, "existed": data is not None, "sha256": _sha(data), "blob": "f%03d" % i}
            if data is not None:
                st = os.stat(path)
                e.update(uid=st.st_uid, gid=st.st_gid, mode=st.st_mode & 0o7777)
            entries.append(e)
        old = None
        if os.path.exists(manifest_path):
            with open(manifest_path) as f:
                old = json.load(f)
        result["files"] = [e["path"] for e in entries if e["existed"]]
        if old == entries:
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
                json.dump(entries, f, indent=1)
            os.rename(tmp, manifest_path)
        module.exit_json(**result)

    # restored
    if not os.path.exists(manifest_path):
        module.fail_json(msg="name: no snapshot '%s' in %s" % (name, p["directory"]))
    with open(manifest_path) as f:
        entries = json.load(f)
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
                import pwd
                import grp
                files.write_atomic(module, e["path"], saved, owner=pwd.getpwuid(e["uid"]).pw_name,
                                   group=grp.getgrgid(e["gid"]).gr_name, mode=e["mode"])
    result["files"] = touched
    result["changed"] = bool(touched)
    if touched and not module.check_mode:
        for marker, tool, command in RELOADS:
            if any(marker in os.path.basename(t) or marker in t for t in touched):
                try:
                    if tool == "asterisk":
                        run_cli(module, command, timeout=60)
                    else:
                        rc, out, err = module.run_command(["systemctl"] + command.split())
                        if rc != 0:
                            module.fail_json(msg="restored, but '%s' failed: %s" % (command, err or out), **result)
                    result["reloaded"].append(command)
                except AsteriskCliError as e:
                    module.fail_json(msg="restored, but %s" % e, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

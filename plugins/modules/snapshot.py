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
    saved enabled/active state (restarting units whose files changed). The units' states are read
    back; when a reload, a unit step or that read-back fails, every file the restore wrote is put
    back as it was before the restore (owner and mode too), the daemons are reloaded and the units
    brought back again, and the task fails saying what failed.
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
    description: Saves and restores go through a temp file and C(atomic_move).
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
              /etc/fail2ban/jail.d/pbxguard.local, /etc/asterisk/extensions.conf,
              /etc/asterisk/extensions_pbxguard.conf]
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

# first: the module_utils below then load from the host's bytecode cache, not compiled
# twice from the module's zip on every run (see _bytecode.py)
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _bytecode
_bytecode.install()

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _snapshot as snapshot
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import run


def main():
    run(snapshot.SnapshotChange(), dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["saved", "restored", "absent"], default="saved"),
        paths=dict(type="list", elements="path", default=list(snapshot.DEFAULT_PATHS)),
        globs=dict(type="list", elements="str", default=list(snapshot.DEFAULT_GLOBS)),
        units=dict(type="list", elements="str", default=list(snapshot.DEFAULT_UNITS)),
        directory=dict(type="path", default="/var/backups/pbxguard"),
    ))


if __name__ == "__main__":
    main()

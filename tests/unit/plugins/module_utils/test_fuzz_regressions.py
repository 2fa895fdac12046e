# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shrunk examples that tests/reliability/test_fuzz.py (Hypothesis, the
real consumers as the oracle) found, kept as regressions of the pure code."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _ami as ami
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _extension as ext
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError, check_ip, parse_network
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils import test_extension as te

SECRET = "Qz7%abcdEFGH"


def _ami(**user):
    u = dict(name="fzami", secret=SECRET, permit=["127.0.0.1/32"], read=["system"], write=["originate"])
    u.update(user)
    return dict(enabled=True, bind_address="127.0.0.1", port=5038, users=[u], allow_weak_secrets=False)


@pytest.mark.parametrize("user,fragment", [
    # users.0.read.0 = '': the message named 'read', not the element
    (dict(read=[""]), "users[0] (fzami).read[0]: unknown class ''"),
    # users.0.write.0 = 'dtmf'
    (dict(write=["dtmf"]), "users[0] (fzami).write[0]: class 'dtmf' is meaningful only as a read class"),
])
def test_ami_class_errors_name_the_element(user, fragment):
    with pytest.raises(PolicyError) as e:
        ami.validate(_ami(**user))
    assert fragment in str(e.value)


@pytest.mark.parametrize("check,value", [(parse_network, "::ffff:0:0"), (check_ip, "::ffff:0.0.0.0")])
def test_ipv4_mapped_refusal_names_its_rule(check, value):
    # the message said only "IPv4-mapped IPv6 address; use ...": no rule
    with pytest.raises(PolicyError) as e:
        check(value, "permit[0]")
    assert "IPv4-mapped IPv6 address is not allowed" in str(e.value)


def test_extension_name_with_backslash_is_refused():
    # extensions.0.name = 'A\\B': pjsip showed callerid "AB" <3901>, voicemail A\B
    with pytest.raises(PolicyError) as e:
        ext.validate(te.params([dict(number="3901", name="A\\B", secret=SECRET, pin="8474")]))
    assert "extensions[0] (3901).name: must not contain '\\'" in str(e.value)


class _Asterisk(te.Asterisk):
    """``live`` is (username, number): the endpoint is printed as Asterisk
    prints it, 'username/number' (the caller-ID number), and voicemail lists
    the number's box (the shared fake lists 1008 only)."""

    def run_command(self, args, **kw):
        if args[:1] == ["timeout"] and args[-1].startswith("pjsip show endpoints"):
            self.disk.log.append(("run",) + tuple(args))
            user, number = self.live
            return 0, te.endpoints_listing([(user, number, user, 1)] if te.listed(args[-1], user) else []), ""
        if args[:1] == ["timeout"] and args[-1] == "voicemail show users for default":
            self.disk.log.append(("run",) + tuple(args))
            return 0, "default   %s   x\n" % self.live[1], ""
        return te.Asterisk.run_command(self, args, **kw)


def _run(exts, disk, live):
    module = te.FakeModule(no_log_values=[te.S1008])
    module.params = te.params(exts)
    host = _Asterisk(module, disk, live)
    t = te.tx.Transaction(module, ext.ExtensionChange(), host=host, writer=te.FakeWriter(disk))
    with pytest.raises(te.Exit) as e:
        t.run(module.params)
    return e.value


def test_renumbered_extension_keeping_its_username_is_no_removal():
    # extensions.0.number = '0' with username fz3901 kept: verify said "PJSIP endpoint
    # 'fz3901' still loaded after its removal" and rolled the change back
    disk = te.debian_disk()
    r = _run([dict(number="1008", username="desk", secret=te.S1008, pin="8474")], disk, ("desk", "1008"))
    assert not r.failed, r.result.get("msg")
    r = _run([dict(number="1009", username="desk", secret=te.S1008, pin="8474")], disk, ("desk", "1009"))
    assert not r.failed, r.result.get("msg")
    assert r.result["removed"] == ["1008"] and r.result["created"] == ["1009"]


def test_a_bind_address_the_host_does_not_have_is_refused_before_writing():
    # sip_transport bind_address = '203.0.113.9': written, refused by res_pjsip ("Cannot assign
    # requested address"), rolled back - with a message that named no option
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
    local = portplan.parse_ip_addr('[{"addr_info": [{"local": "127.0.0.1"}, {"local": "::1"}]},'
                                   ' {"addr_info": [{"local": "198.18.0.11"}]}]')
    want = [portplan.Binding(portplan.PJSIP, "udp", 5060, "203.0.113.9", "transport", "task", "bind_address")]
    with pytest.raises(PolicyError) as e:
        portplan.check([], [portplan.PJSIP], want, local=local)
    assert "bind_address: 203.0.113.9 is not an address of this host" in str(e.value)
    for ok in ("198.18.0.11", "0.0.0.0", "::", "127.0.0.1"):
        portplan.check([], [portplan.PJSIP], [portplan.Binding(portplan.PJSIP, "udp", 5060, ok)], local=local)
    # ip told nothing: no check (not: every address foreign)
    assert portplan.parse_ip_addr("") is None


@pytest.mark.parametrize("root", ["/", "/etc", "/etc/", "/root"])
def test_tftp_root_dir_never_a_system_directory(root):
    # host_service root_dir = '/': in.tftpd --jail / served every world-readable file
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _host_service as hs
    with pytest.raises(PolicyError) as e:
        hs.validate(dict(service="tftp", state="enabled", root_dir=root))
    assert "root_dir: " in str(e.value) and "system directory" in str(e.value)


@pytest.mark.parametrize("unit", [";vsftpd.service", "kea-dhcp,#include4-server.service", "../x.service", "vsftpd"])
def test_snapshot_unit_names_as_systemd_spells_them(unit):
    # snapshot units[0] = ';vsftpd.service': taken into the manifest, handed to systemctl on restore
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _snapshot as snapshot
    params = dict(name="fz", state="saved", directory="/var/backups/pbxguard", paths=[], globs=[],
                  units=["vsftpd.service", unit])
    with pytest.raises(PolicyError) as e:
        snapshot.SnapshotChange().validate(params)
    assert "units[1]: is not a systemd unit name" in str(e.value)
    snapshot.SnapshotChange().validate(dict(params, units=["vsftpd.service", "getty@tty1.service"]))


def test_snapshot_ssh_refusal_names_the_element():
    # snapshot units[0] = 'ssh.service': the message named 'units', not the element
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _snapshot as snapshot
    with pytest.raises(PolicyError) as e:
        snapshot.SnapshotChange().validate(dict(name="fz", state="saved", directory="/var/backups/pbxguard",
                                                paths=[], globs=[], units=["vsftpd.service", "ssh.service"]))
    assert str(e.value).startswith("units[1]: ssh.service cannot be part of a snapshot")

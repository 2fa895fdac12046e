# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin and totp modules' plans driven through the change transaction
with the fake host of test_transaction: what is written in which order, that
the account comes before its files, that an sshd refusal brings every file
back (the second factor's secret file too) and undoes the account."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _admin as admin
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _totp as totp
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    Exit, FakeDisk, FakeHost, FakeModule, FakeWriter, writes)

USER = "pbxadmin"
H = "$6$rounds=100000$abcdefgh$" + "A" * 86
H2 = "$6$rounds=100000$ijklmnop$" + "B" * 86
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ4b3rL8mZ4sQf4nq5qkq1q3bqv0y3Q6rQx9cR8bq7n laptop"
GA = "/home/%s/.google_authenticator" % USER
PAM = b"# PAM\n@include common-auth\n"
DROPIN_DIR = "/etc/ssh/sshd_config.d"


class SshdHost(FakeHost):
    """The fake host with accounts, useradd/chpasswd and an sshd that
    refuses a drop-in containing BAD (``sshd -t``)."""

    def __init__(self, module, disk, accounts=None):
        FakeHost.__init__(self, module, disk)
        self.accounts = accounts if accounts is not None else {}

    def user(self, name):
        return self.accounts.get(name)

    def glob(self, pattern):
        return sorted(p for p in self.disk.files if fnmatch.fnmatch(p, pattern))

    def isdir(self, path):
        return any(p.startswith(path + "/") for p in self.disk.files)

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if args[0] == "useradd":
            self.accounts[args[-1]] = dict(name=args[-1], uid=1000, gid=1000, home=args[args.index("-d") + 1],
                                           gecos=args[args.index("-c") + 1], group=args[-1])
        elif args[0] == "userdel":
            self.accounts.pop(args[-1], None)
        elif args[0] == "chpasswd":
            name, _sep, value = kw["data"].partition(":")
            self.disk.files["/etc/shadow"] = (("%s:%s:19000::::::\n" % (name, value)).encode(), "root", "shadow",
                                              0o640)
        elif args[:2] == ["sshd", "-t"]:
            bad = [p for p, e in self.disk.files.items() if p.startswith(DROPIN_DIR) and b"BAD" in e[0]]
            return (255, "", "%s line 1: Bad configuration option: BAD" % bad[0]) if bad else (0, "", "")
        elif args[:2] == ["sshd", "-T"]:
            # the admin drop-in denies from outside its networks (the comment line names them)
            addr = dict(kv.split("=", 1) for kv in args[3].split(","))["addr"]
            out = ""
            for p in self.disk.files:
                if "pbxguard-admin" in p:
                    nets = admin.networks_of_dropin(self.disk.read(p), USER)
                    if not admin.sshd.address_allowed(addr, nets):
                        out += "denyusers %s\n" % USER
            out += "kbdinteractiveauthentication yes\nusepam yes\n"
            tdropin = self.disk.read("%s/pbxguard-totp-%s.conf" % (DROPIN_DIR, USER))
            methods = tdropin.decode().split("AuthenticationMethods ")[1].strip() if tdropin else "any"
            out += "authenticationmethods %s\n" % methods
            return 0, out, ""
        elif "asterisk" in args:
            return 0, "r/o?  Username\n----  --------\nNo    %s\n" % USER, ""
        return 0, "", ""


def admin_params(**kw):
    p = dict(username=USER, password=None, password_update="always", allow_weak=False,
             allowed_networks=["198.18.0.0/24"], force=False, emails=["ops@example.org"], api_access=True,
             api_bind_address=None, ssh_keys={"present": [KEY], "exclusive": False}, shell="/bin/bash",
             ari_config_file="/etc/asterisk/ari.conf", http_config_file="/etc/asterisk/http.conf",
             sshd_dropin_dir=DROPIN_DIR, totp=None,
             _plan=dict(shape="pbxguard.asterisk.admin/v1", password_hash=H, ari_password_hash=H,
                        totp_secret=SECRET))
    p.update(kw)
    return p


def drive(change, params, disk, accounts=None, **module_kw):
    module = FakeModule(**module_kw)
    host = SshdHost(module, disk, accounts)
    t = tx.Transaction(module, change, host=host, writer=FakeWriter(disk),
                       portplan_check=lambda host, manages, bindings: None)
    with pytest.raises(Exit) as e:
        t.run(params)
    return e.value, host


def fresh_disk():
    return FakeDisk({"/etc/shadow": (b"root:*:19000::::::\n", "root", "shadow", 0o640),
                     "/etc/ssh/sshd_config": (b"Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n", "root", "root",
                                              0o644),
                     "/etc/pam.d/sshd": (PAM, "root", "root", 0o644),
                     "/etc/asterisk/ari.conf": (b"[general]\nenabled = no\n", "asterisk", "asterisk", 0o640),
                     "/etc/asterisk/http.conf": (b"[general]\n", "asterisk", "asterisk", 0o640)})


@pytest.fixture(autouse=True)
def no_ssh_connection(monkeypatch):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)


def test_new_account_is_made_before_its_files_then_applied_and_verified():
    disk = fresh_disk()
    r, host = drive(admin.AdminChange(), admin_params(totp=dict(state="enabled", methods="password")),
                    disk)
    assert not r.failed, r.result
    log = [e[:2] if e[0] != "run" else e[:3] for e in disk.log]
    useradd = log.index(("run", "useradd", "-m"))
    first_write = min(i for i, e in enumerate(log) if e[0] == "write")
    assert useradd < first_write
    assert [e[1] for e in writes(disk)] == [
        "/etc/pbxguard/admin/pbxadmin.json", "/home/pbxadmin/.ssh/authorized_keys",
        DROPIN_DIR + "/pbxguard-admin-pbxadmin.conf", "/etc/asterisk/http.conf", "/etc/asterisk/ari.conf",
        GA, "/etc/pam.d/sshd", DROPIN_DIR + "/pbxguard-totp-pbxadmin.conf"]
    # owners: the new account's own files are its own
    assert disk.files["/home/pbxadmin/.ssh/authorized_keys"][1:] == (USER, USER, 0o600)
    assert disk.files[GA][1:] == (USER, USER, 0o400)
    assert r.result["user_created"] and r.result["password_changed"] and r.result["sshd_reloaded"]
    assert r.result["totp"]["sshd_reloaded"] and r.result["asterisk_reloaded"]
    assert admin.shadow_hash(disk.read("/etc/shadow"), USER) == H
    assert ("run", "sshd", "-t") in disk.log


def test_a_second_run_plans_nothing():
    disk = fresh_disk()
    two = dict(state="enabled", methods="password")
    _r, host = drive(admin.AdminChange(), admin_params(totp=two), disk)
    del disk.log[:]
    r, _host = drive(admin.AdminChange(), admin_params(totp=two), disk, host.accounts)
    # nothing written or run but the read-only look at what is live (sshd -T -C)
    assert r.result["changed"] is False and not r.failed
    assert disk.log and all(e[:3] == ("run", "sshd", "-T") for e in disk.log), disk.log


def test_sshd_refusal_restores_every_file_and_removes_the_new_account():
    disk = fresh_disk()
    disk.files[DROPIN_DIR + "/00-bad.conf"] = (b"BAD yes\n", "root", "root", 0o644)
    before = dict(disk.files)
    r, host = drive(admin.AdminChange(), admin_params(totp=dict(state="enabled", methods="password")), disk)
    assert r.failed and r.result["msg"].startswith("sshd -t refused the new configuration")
    assert "Bad configuration option" in r.result["msg"]
    assert H not in r.result["msg"] and SECRET not in repr(r.result)
    # /etc/shadow came back too (the fake's chpasswd wrote it; userdel of the real one removes the entry)
    del disk.files["/etc/shadow"]
    del before["/etc/shadow"]
    assert disk.files == before
    assert USER not in host.accounts and ("run", "userdel", "-r", USER) in disk.log
    reloads = [e for e in disk.log if e[:3] == ("run", "systemctl", "reload")]
    # sshd -t refused: no reload then, and none in revert either (sshd still refuses the
    # configuration, because of a file that is not ours)
    assert reloads == []


def test_existing_account_refusal_sets_the_old_hash_back():
    disk = fresh_disk()
    disk.files["/etc/shadow"] = (("%s:%s:19000::::::\n" % (USER, H2)).encode(), "root", "shadow", 0o640)
    disk.files["/home/pbxadmin/.ssh/authorized_keys"] = (b"", USER, USER, 0o600)
    disk.files[DROPIN_DIR + "/00-bad.conf"] = (b"BAD yes\n", "root", "root", 0o644)
    accounts = {USER: dict(name=USER, uid=1000, gid=1000, home="/home/pbxadmin", gecos=admin.ACCOUNT_GECOS, group=USER)}
    r, host = drive(admin.AdminChange(), admin_params(), disk, accounts)
    assert r.failed and admin.shadow_hash(disk.read("/etc/shadow"), USER) == H2
    assert USER in host.accounts and not any(e[1] == "userdel" for e in disk.log if e[0] == "run")
    assert disk.read("/home/pbxadmin/.ssh/authorized_keys") == b""


def test_check_mode_runs_nothing_and_the_account_diff_has_no_hash():
    disk = fresh_disk()
    r, _host = drive(admin.AdminChange(), admin_params(), disk, check_mode=True, diff=True)
    assert r.result["changed"] is True and disk.log == []
    account = [d for d in r.result["diff"] if d["before_header"] == "admin pbxadmin"]
    assert "(new hash)" in account[0]["after"] and "exists: False" in account[0]["before"]
    assert H not in repr(r.result) and H.rsplit("$", 1)[-1] not in repr(r.result)


def test_probe_reads_only_and_answers_in_one_key():
    disk = fresh_disk()
    accounts = {USER: dict(name=USER, uid=1000, gid=1000, home="/home/pbxadmin", gecos=admin.ACCOUNT_GECOS, group=USER)}
    r, _host = drive(admin.AdminChange(), admin_params(_plan=dict(shape="pbxguard.asterisk.admin/v1", probe=True),
                                                       api_access=False, ssh_keys={}), disk, accounts)
    assert not r.failed and writes(disk) == [] and r.result["changed"] is False
    answer = r.result["_pbxguard_probe"]
    assert answer["stored"] == dict(user_exists=True, shadow_hash=None, ari_hash=None)
    assert answer["final"] is False  # the drop-in and the profile are missing
    # a refusal in the plan is no failure for a probe: the real run reports it
    r, _host = drive(admin.AdminChange(), admin_params(_plan=dict(shape="pbxguard.asterisk.admin/v1", probe=True)),
                     disk, {})
    assert not r.failed and r.result["_pbxguard_probe"]["final"] is False


def totp_params(**kw):
    p = dict(user=USER, state="enabled", methods="password", issuer="PBX", qr_path=None, secret_path=None,
             verify_code=None, _plan=dict(shape="pbxguard.asterisk.totp/v1", secret=SECRET))
    p.update(kw)
    return p


def enrolled_disk():
    disk = FakeDisk({GA: (b"OLDSECRETOLDSECRET\n", USER, USER, 0o400),  # incomplete: rewritten
                     "/etc/ssh/sshd_config": (b"Include /etc/ssh/sshd_config.d/*.conf\n", "root", "root", 0o644),
                     "/etc/pam.d/sshd": (PAM, "root", "root", 0o644),
                     DROPIN_DIR + "/pbxguard-totp-pbxadmin.conf": (b"# old\n", "root", "root", 0o600)})
    return disk, {USER: dict(name=USER, uid=1000, gid=1000, home="/home/pbxadmin", gecos=admin.ACCOUNT_GECOS, group=USER)}


def test_totp_sshd_refusal_restores_the_secret_file_pam_and_dropin():
    """The issue's gap: before, only PAM came back when sshd refused."""
    disk, accounts = enrolled_disk()
    disk.files[DROPIN_DIR + "/00-bad.conf"] = (b"BAD yes\n", "root", "root", 0o644)
    before = dict(disk.files)
    r, _host = drive(totp.TotpChange(), totp_params(), disk, accounts)
    assert r.failed and r.result["msg"].startswith("sshd -t refused the new configuration")
    assert [e[1] for e in writes(disk)][:3] == [GA, "/etc/pam.d/sshd", DROPIN_DIR + "/pbxguard-totp-pbxadmin.conf"]
    assert disk.files == before  # bytes, owner and mode of all three
    assert SECRET not in repr(r.result)


def test_totp_enrols_verifies_and_disables():
    disk, accounts = enrolled_disk()
    r, _host = drive(totp.TotpChange(), totp_params(), disk, accounts, diff=True)
    assert not r.failed and r.result["changed"] and r.result["sshd_reloaded"]
    assert totp.parse_file(disk.read(GA)) == (SECRET, True) and disk.files[GA][1:] == (USER, USER, 0o400)
    assert totp.PAM_LINE in disk.read("/etc/pam.d/sshd").decode()
    assert SECRET not in repr(r.result["diff"])
    del disk.log[:]
    r, _host = drive(totp.TotpChange(), totp_params(), disk, accounts)
    # a no-op run writes nothing and only reads what is live (sshd -T -C)
    assert r.result["changed"] is False and [e[:3] for e in disk.log] == [("run", "sshd", "-T")]
    r, _host = drive(totp.TotpChange(), totp_params(state="disabled", _plan=None), disk, accounts)
    assert not r.failed and r.result["changed"] and r.result["enrolled"] is False
    assert disk.read(GA) is None and disk.read("/etc/pam.d/sshd") == PAM
    assert disk.read(DROPIN_DIR + "/pbxguard-totp-pbxadmin.conf") is None


def test_totp_verify_problem_restores_and_reloads_again():
    class WrongMethods(SshdHost):
        def run_command(self, args, **kw):
            if args[:2] == ["sshd", "-T"]:
                self.disk.log.append(("run",) + tuple(args))
                return 0, "authenticationmethods any\n", ""
            return SshdHost.run_command(self, args, **kw)
    disk, accounts = enrolled_disk()
    before = dict(disk.files)
    module = FakeModule()
    t = tx.Transaction(module, totp.TotpChange(), host=WrongMethods(module, disk, accounts), writer=FakeWriter(disk))
    with pytest.raises(Exit) as e:
        t.run(totp_params())
    assert e.value.failed and "user=pbxadmin,addr=192.0.2.1: AuthenticationMethods is 'any', expected " \
        "'keyboard-interactive'" in e.value.result["msg"]
    assert disk.files == before
    assert len([x for x in disk.log if x[:3] == ("run", "systemctl", "reload")]) == 2  # apply, then revert


def test_totp_missing_account_and_missing_secret_are_clear():
    disk, _accounts = enrolled_disk()
    r, _host = drive(totp.TotpChange(), totp_params(), disk, {})
    assert r.failed and r.result["msg"].startswith("user: no account 'pbxadmin' on the host")
    r, _host = drive(totp.TotpChange(), totp_params(), disk, {}, check_mode=True)
    assert not r.failed and r.result["changed"] is True and "no such account yet" in r.result["summary"]
    r, _host = drive(totp.TotpChange(), totp_params(_plan=None), disk, _accounts)
    assert r.failed and r.result["msg"] == "secret: missing from _plan; the action plugin sets it"
    r, _host = drive(totp.TotpChange(), totp_params(_plan=dict(shape="pbxguard.asterisk.totp/v1", x=1),
                                                    user="root"), disk, _accounts)
    assert r.failed and "user: 'root' is reserved" in r.result["msg"] and "_plan: unknown key x" in r.result["msg"]
    assert writes(disk) == []


# ---- found by tests/reliability/test_fuzz.py (the admin and totp targets)
def test_api_bind_address_goes_through_the_port_plan():
    # api_bind_address = '172.25.59.96' (not the host's): http.conf was written, the reload
    # could not bind, and the module reported success - the port plan now sees the listener
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan
    disk = fresh_disk()
    seen = []
    module = FakeModule()
    t = tx.Transaction(module, admin.AdminChange(), host=SshdHost(module, disk), writer=FakeWriter(disk),
                       portplan_check=lambda host, manages, bindings: seen.append((manages, bindings)))
    with pytest.raises(Exit):
        t.run(admin_params(api_bind_address="203.0.113.9"))
    assert [(m, [b.as_dict() for b in bs]) for m, bs in seen] == [
        ([("http", "http")], [dict(service="http", name="http", proto="tcp", port=8088, address="203.0.113.9",
                                   source="task")])]
    with pytest.raises(admin.policy.PolicyError) as e:
        portplan.check([], *seen[0], local={"127.0.0.1", "198.18.0.5"})
    assert str(e.value) == ("api_bind_address: 203.0.113.9 is not an address of this host (ip addr); "
                            "http could not listen there")
    # a clash with web's https listener on the same port is refused, naming both
    https = portplan.Binding("http", "tcp", 8088, "", "https", "/etc/asterisk/http.conf")
    with pytest.raises(admin.policy.PolicyError) as e:
        portplan.check([https], *seen[0], local={"203.0.113.9"})
    assert "port clash on 8088/tcp" in str(e.value)
    # without api_bind_address the listener is left as it is: nothing for the port plan
    assert admin.http_bindings(b"[general]\nenabled=yes\nbindaddr=127.0.0.1\n", "http.conf", None) is None


def test_a_refused_port_plan_writes_nothing():
    disk = fresh_disk()
    before = dict(disk.files)

    def refuse(host, manages, bindings):
        raise admin.policy.PolicyError("api_bind_address: 203.0.113.9 is not an address of this host")
    module = FakeModule()
    t = tx.Transaction(module, admin.AdminChange(), host=SshdHost(module, disk), writer=FakeWriter(disk),
                       portplan_check=refuse)
    with pytest.raises(Exit) as e:
        t.run(admin_params(api_bind_address="203.0.113.9"))
    assert e.value.failed and e.value.result["msg"].startswith("api_bind_address: ")
    assert disk.files == before and writes(disk) == []


@pytest.mark.parametrize("key,value,fragment", [
    # sshd_dropin_dir = '/etc/ssh/../ssh/sshd_config.d': refused as "allowed_networks: sshd does not read ..."
    ("sshd_dropin_dir", "/etc/ssh/../ssh/sshd_config.d", "sshd_dropin_dir: must not contain a '.' or '..' component"),
    ("sshd_dropin_dir", "relative", "sshd_dropin_dir: must be an absolute path"),
    ("ari_config_file", "/etc/asterisk/./ari.conf", "ari_config_file: must not contain a '.' or '..' component"),
    ("http_config_file", "/etc/asterisk/http.conf\n", "http_config_file: contains newline"),
])
def test_path_options_mean_what_they_say(key, value, fragment):
    with pytest.raises(admin.policy.PolicyError) as e:
        admin.AdminChange().validate(admin_params(**{key: value}))
    assert fragment in str(e.value)
    spec = admin.AdminChange().validate(admin_params(sshd_dropin_dir=DROPIN_DIR + "/"))
    assert spec["dropin_dir"] == DROPIN_DIR


def test_not_included_dropin_names_the_directory_option():
    disk = fresh_disk()
    r, _host = drive(admin.AdminChange(), admin_params(sshd_dropin_dir="/tmp"), disk)
    assert r.failed and r.result["msg"].startswith("allowed_networks, sshd_dropin_dir: sshd does not read "
                                                   "/tmp/pbxguard-admin-pbxadmin.conf")
    assert writes(disk) == []


def test_totp_refuses_a_system_account():
    # totp user = 'daemon': the secret file went to daemon's home, /usr/sbin
    disk, _accounts = enrolled_disk()
    daemon = dict(name="daemon", uid=1, gid=1, home="/usr/sbin", gecos="daemon", group="daemon")
    r, _host = drive(totp.TotpChange(), totp_params(user="daemon"), disk, {"daemon": daemon})
    assert r.failed and r.result["msg"].startswith("user: 'daemon' is a system account (uid 1, outside UID_MIN "
                                                   "1000 .. UID_MAX 60000 of /etc/login.defs)")
    assert writes(disk) == []
    # disabling it (cleaning up) is still possible
    r, _host = drive(totp.TotpChange(), totp_params(user="daemon", state="disabled"), disk, {"daemon": daemon})
    assert not r.failed


@pytest.mark.parametrize("value,message", [
    # username = 'T1\x1fSLqJJ': told "allowed are letters, digits and _ . @ + -", yet '@' and '+' are refused
    ("T1\x1fSLqJJ", "username: contains control character; allowed are letters, digits and _ . -"),
    ("fz+1", "username: contains '+'; allowed are letters, digits and _ . -"),
    ("fz@host", "username: must not contain '@'"),
])
def test_username_refusal_states_its_own_character_set(value, message):
    with pytest.raises(admin.policy.PolicyError) as e:
        admin.check_username(value)
    assert str(e.value).startswith(message)


HTTPS_ONLY = b"[general]\nenabled=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8088\n"


def test_api_bind_address_never_opens_a_plain_listener_beside_https_only():
    # web with protocol https writes no plain bindaddr: the admin's api_bind_address used to add
    # one, a plain listener on bindport 8088 on top of the TLS listener (found by the port plan)
    out = admin.plan_http(HTTPS_ONLY, "/etc/asterisk/http.conf", "0.0.0.0")
    assert out == HTTPS_ONLY
    assert admin.http_bindings(out, "/etc/asterisk/http.conf", "0.0.0.0")[1] == []
    with pytest.raises(admin.policy.PolicyError) as e:
        admin.plan_http(HTTPS_ONLY, "/etc/asterisk/http.conf", "127.0.0.1")
    assert str(e.value).startswith("api_bind_address: 127.0.0.1: the HTTP server serves only https, on 0.0.0.0 ")
    # a server with a plain listener gets the address as before
    plain = b"[general]\nenabled=yes\nbindaddr=127.0.0.1\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8089\n"
    assert admin.plan_http(plain, "/etc/asterisk/http.conf", "0.0.0.0") == plain.replace(b"127.0.0.1", b"0.0.0.0")

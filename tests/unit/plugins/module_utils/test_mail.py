# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email
import email.policy

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _mail as mail
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
from ansible_collections.pbxguard.asterisk.plugins.module_utils._masking import Masker
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
    FakeDisk, FakeHost, FakeModule as TxModule, FakeWriter, Exit)


# ------------------------------------------------------------ host names
@pytest.mark.parametrize("value", ["smtp.example.org", "localhost", "a", "mail-1.example.co.uk",
                                   "x" * 63 + ".example.org", "SMTP.Example.ORG", "1and1.com"])
def test_hostname_ok(value):
    assert policy.check_hostname(value, "server") == value


@pytest.mark.parametrize("value,fragment", [
    ("", "must not be empty"),
    ("smtp..example.org", "empty label"),
    (".example.org", "empty label"),
    ("example.org.", "empty label"),
    ("-smtp.example.org", "starts or ends with '-'"),
    ("smtp-.example.org", "starts or ends with '-'"),
    ("smtp_1.example.org", "'_'"),
    ("smtp example.org", "space"),
    ("smtp.example.org\n[general]", "newline"),
    ("smtp;x", "';'"),
    ("smtp#x", "'#'"),
    ("x" * 64 + ".example.org", "longer than 63"),
    (".".join(["abcdefghi"] * 26), "longer than 253"),
    ("10.0.0.256", "neither a host name nor a valid IP address"),
    ("exämple.org", "non-ASCII"),
])
def test_hostname_bad(value, fragment):
    with pytest.raises(PolicyError) as e:
        policy.check_hostname(value, "server")
    assert str(e.value).startswith("server: ") and fragment in str(e.value), str(e.value)


@pytest.mark.parametrize("value,canonical", [
    ("198.18.0.1", "198.18.0.1"), ("2001:DB8::1", "2001:db8::1"), ("smtp.example.org", "smtp.example.org"),
])
def test_host_ok(value, canonical):
    assert policy.check_host(value, "server") == canonical


@pytest.mark.parametrize("value", ["198.18.0.300", "1.2.3", "2001:db8::g", "::ffff:1.2.3.4", 5, None])
def test_host_bad(value):
    with pytest.raises(PolicyError):
        policy.check_host(value, "server")


# ------------------------------------------------------------ validate
def params(**kw):
    p = dict(server="smtp.example.org", port=None, tls="starttls", tls_ca_file=None,
             client_hostname="pbx1.example.org", sender_address="pbx@example.org",
             sender_name="PBX voicemail", username="pbx@example.org", password='p"w\\ d!',
             send_test_to=None, fix_voicemail_module=True)
    p.update(kw)
    return p


def test_validate_defaults_ports_by_tls():
    assert mail.validate(params())["port"] == 587
    assert mail.validate(params(tls="tls"))["port"] == 465
    assert mail.validate(params(tls="none", username=None, password=None))["port"] == 25
    assert mail.validate(params(port=2525))["port"] == 2525


def test_validate_default_client_hostname_from_fqdn():
    assert mail.validate(params(client_hostname=None), default_domain="pbx9.lan")["domain"] == "pbx9.lan"
    # an odd local name is not written: msmtp's own default applies
    assert mail.validate(params(client_hostname=None), default_domain="pbx_9")["domain"] is None
    assert mail.validate(params(client_hostname=None))["domain"] is None


@pytest.mark.parametrize("kw,fragments", [
    (dict(server="smtp..x"), ["server: ", "empty label"]),
    (dict(port=0), ["port: ", "out of range"]),
    (dict(port=70000), ["port: ", "out of range"]),
    (dict(tls="ssl"), ["tls: must be one of"]),
    (dict(client_hostname="pbx 1"), ["client_hostname: ", "space"]),
    (dict(sender_address="pbx"), ["sender_address: ", "e-mail"]),
    (dict(sender_address="pbx@example.org\nx"), ["sender_address: ", "newline"]),
    (dict(sender_address="p#x@example.org"), ["sender_address: ", "'#'"]),
    (dict(sender_name="PBX\n[general]"), ["sender_name: ", "newline", "'['"]),
    (dict(sender_name="PBX; x"), ["sender_name: ", "';'"]),
    (dict(sender_name='PBX "x"'), ["sender_name: ", "'\"'"]),
    (dict(sender_name="PBX <x>"), ["sender_name: ", "'<'"]),
    (dict(sender_name=" PBX"), ["sender_name: ", "whitespace"]),
    (dict(username="a;b"), ["username: ", "';'"]),
    (dict(password="abc\ndef"), ["password: ", "newline"]),
    (dict(password="abc#def"), ["password: ", "'#'"]),
    (dict(password="abc[def"), ["password: ", "'['"]),
    (dict(password=""), ["password: must not be empty"]),
    (dict(username=None), ["username: required together with password"]),
    (dict(password=None), ["password: required together with username"]),
    (dict(tls="none"), ["password: refused with tls=none", "clear text"]),
    (dict(tls_ca_file="ca.pem"), ["tls_ca_file: must be an absolute path"]),
    (dict(tls="none", username=None, password=None, tls_ca_file="/etc/ca.pem"), ["tls_ca_file: has no use"]),
    (dict(send_test_to="ops@x"), ["send_test_to: ", "e-mail"]),
])
def test_validate_refuses(kw, fragments):
    with pytest.raises(PolicyError) as e:
        mail.validate(params(**kw))
    for f in fragments:
        assert f in str(e.value), str(e.value)


def test_validate_collects_all_errors_and_never_echoes_the_password():
    secret = "Secr3t;#"
    with pytest.raises(PolicyError) as e:
        mail.validate(params(server="a..b", port=0, password=secret))
    msg = str(e.value)
    assert msg.count("\n") == 2
    assert secret not in msg
    with pytest.raises(PolicyError) as e:
        mail.validate(params(password=";#;#"))
    assert "no allowed character" in str(e.value) and ";#;#" not in str(e.value)


# ------------------------------------------------------------ msmtprc
def test_render_msmtprc_starttls_with_auth():
    text = mail.render_msmtprc(mail.validate(params(tls_ca_file="/etc/ssl/lab-ca.pem")))
    assert text.splitlines()[0] == "# managed by pbxguard.asterisk (mail): changes made here are overwritten"
    body = text[text.index("account pbxguard"):]
    assert body == (
        'account pbxguard\nhost smtp.example.org\nport 587\ntls on\ntls_starttls on\n'
        'tls_certcheck on\ntls_trust_file "/etc/ssl/lab-ca.pem"\ndomain pbx1.example.org\n'
        'from "pbx@example.org"\nauth on\nuser "pbx@example.org"\npassword "p"w\\ d!"\n\n'
        'account default : pbxguard\n')


def test_render_msmtprc_implicit_tls_and_plain():
    text = mail.render_msmtprc(mail.validate(params(tls="tls")))
    assert "tls on\ntls_starttls off\ntls_certcheck on\ntls_trust_file system\n" in text
    text = mail.render_msmtprc(mail.validate(params(tls="none", username=None, password=None,
                                                    client_hostname=None)))
    assert "port 25\ntls off\nfrom" in text and "auth off\n" in text
    assert "\npassword" not in text and "\ndomain" not in text and "tls_trust" not in text


def test_render_is_deterministic():
    want = mail.validate(params())
    assert mail.render_msmtprc(want) == mail.render_msmtprc(dict(want))


def test_masker_hides_msmtprc_password_keeps_the_rest():
    want = mail.validate(params())
    text = mail.render_msmtprc(want)
    m = Masker()
    masked = m.text(text, path=mail.MSMTPRC)
    assert want["password"] not in masked
    assert 'password <secret:' in masked
    # msmtp drops the quotes around an argument: the tag is the password's own
    assert masked.replace(m.tag(want["password"]), '"%s"' % want["password"]) == text
    # the same password gives the same tag, another one another tag
    other = m.text(mail.render_msmtprc(mail.validate(params(password="other"))), path=mail.MSMTPRC)
    assert [ln for ln in masked.splitlines() if ln.startswith("password")] != \
        [ln for ln in other.splitlines() if ln.startswith("password")]
    assert m.text(text, path=mail.MSMTPRC) == masked


# ------------------------------------------------------------ voicemail.conf
DEBIAN_VM = b"""; Voicemail Configuration
[general]
format=wav49|gsm|wav
serveremail=asterisk
;serveremail=asterisk@linux-support.net
attach=yes
;fromstring=The Asterisk PBX
;mailcmd=/usr/sbin/sendmail -t
maxlogins=3

[zonemessages]
eastern=America/New_York|'vm-received' Q 'digits/at' IMp

[default]
1234 => 4242,Example Mailbox,root@localhost
"""


def test_plan_voicemail_sets_three_keys_and_touches_nothing_else():
    want = mail.validate(params())
    new = mail.plan_voicemail(DEBIAN_VM, want)
    text = new.decode()
    assert "serveremail=pbx@example.org\n" in text
    assert "maxlogins=3\nmailcmd = /usr/bin/msmtp -t\nfromstring = PBX voicemail\n" in text
    assert ";mailcmd=/usr/sbin/sendmail -t\n" in text and ";fromstring=The Asterisk PBX\n" in text
    assert text.endswith("[default]\n1234 => 4242,Example Mailbox,root@localhost\n")
    # idempotent: planning again changes nothing
    assert mail.plan_voicemail(new, want) == new


def test_plan_voicemail_without_name_leaves_fromstring():
    vm = DEBIAN_VM.replace(b";fromstring=The Asterisk PBX", b"fromstring=Hand written")
    new = mail.plan_voicemail(vm, mail.validate(params(sender_name=None)))
    assert b"fromstring=Hand written\n" in new


def test_plan_voicemail_creates_general_when_missing():
    new = mail.plan_voicemail(b"[default]\n1 => 1111,A\n", mail.validate(params()))
    assert new.startswith(b"[general]\nmailcmd = /usr/bin/msmtp -t\nserveremail = pbx@example.org\n")


def test_masker_hides_voicemail_pins_of_boxes_only():
    text = (DEBIAN_VM + b"2000 = 9876,B ; comment\n").decode()
    masked = Masker().text(text, path=mail.VOICEMAIL_CONF)
    assert "4242" not in masked and "9876" not in masked and "[general]" in masked


# ------------------------------------------------------------ modules.conf
MODULES = b"""[modules]
autoload=yes
noload => pbx_gtkconsole.so
noload => res_config_pgsql.so

[global]
"""


def test_plan_modules_adds_noload_once():
    new, needed = mail.plan_modules(MODULES)
    assert needed
    assert new == MODULES.replace(b"res_config_pgsql.so\n", b"res_config_pgsql.so\nnoload => app_voicemail_odbc.so\n")
    again, needed = mail.plan_modules(new)
    assert again == new and not needed


def test_plan_modules_not_needed_without_autoload_or_section():
    data = MODULES.replace(b"autoload=yes", b"autoload=no")
    assert mail.plan_modules(data) == (data, False)
    assert mail.plan_modules(b"[global]\n") == (b"[global]\n", False)


def test_plan_modules_refuses_explicit_load():
    with pytest.raises(PolicyError) as e:
        mail.plan_modules(MODULES + b"[modules](+)\nload => app_voicemail_odbc.so\n")
    assert "fix_voicemail_module" in str(e.value) and "load => app_voicemail_odbc.so" in str(e.value)


def test_odbc_module_present(tmp_path):
    d = tmp_path / "mods"
    d.mkdir()
    assert not mail.odbc_module_present((str(d),))
    (d / "app_voicemail_odbc.so").write_bytes(b"")
    assert mail.odbc_module_present((str(d),))


# ------------------------------------------------------------ test mail
def test_build_test_mail():
    want = mail.validate(params(sender_name="PBX Zürich"))
    msg = email.message_from_string(mail.build_test_mail(want, "ops@example.org", "pbx1"),
                                    policy=email.policy.default)
    assert msg["From"].addresses[0].display_name == "PBX Zürich"
    assert msg["From"].addresses[0].addr_spec == "pbx@example.org"
    assert msg["To"] == "ops@example.org"
    assert msg["Subject"] == "pbxguard.asterisk test mail from pbx1"
    assert msg["Message-ID"].endswith("@pbx1.example.org>")
    assert want["password"] not in mail.build_test_mail(want, "ops@example.org", "pbx1")


class FakeModule(object):
    def __init__(self, rc=0, out="", err=""):
        self.calls = []
        self.answer = (rc, out, err)

    def get_bin_path(self, name):
        return None

    def run_command(self, argv, data=None, binary_data=False):
        self.calls.append((argv, data))
        return self.answer


def test_send_test_quotes_the_server_answer():
    fm = FakeModule(77, "", "msmtp: authentication failed (method PLAIN)\n"
                            "msmtp: server message: 535 5.7.8 Authentication credentials invalid\n")
    with pytest.raises(mail.MailError) as e:
        mail.send_test(fm, mail.validate(params()), "ops@example.org", "pbx1")
    assert "535 5.7.8 Authentication credentials invalid" in str(e.value)
    assert "the test mail to ops@example.org was not sent (msmtp exit 77)" in str(e.value)
    argv, data = fm.calls[0]
    assert argv[-2:] == ["--", "ops@example.org"] and "/usr/bin/msmtp" in argv
    assert "Subject: pbxguard.asterisk test mail from pbx1" in data


def test_msmtp_settings_parsed_and_refusal_reported():
    fm = FakeModule(0, "loaded system configuration file /etc/msmtprc\nhost = smtp.example.org\n"
                       "port = 587\npassword = *\n")
    s = mail.msmtp_settings(fm)
    assert s["host"] == "smtp.example.org" and s["port"] == "587"
    with pytest.raises(mail.MailError) as e:
        mail.msmtp_settings(FakeModule(78, "", "msmtp: /etc/msmtprc: line 3: unknown command x"))
    assert "unknown command" in str(e.value) and "as user asterisk" in str(e.value)


# ------------------------------------------------------------ the planner on the transaction

RC_OLD = b"""account pbxguard
host smtp.example.org
auth on
user "pbx@example.org"
password "0ld-Pa55word"
account default : pbxguard
"""
MODS_ODBC = b"[modules]\nautoload=yes\n"


class MailHost(FakeHost):
    """Asterisk's CLI and msmtp as the planner and verify see them."""

    def __init__(self, module, disk, registered=True, msmtp_rc=0, send_rc=0):
        FakeHost.__init__(self, module, disk)
        self.registered = registered
        self.msmtp_rc = msmtp_rc
        self.send_rc = send_rc
        self.want = None

    def exists(self, path):
        return path == mail.MSMTP or path in self.disk.files

    def isfile(self, path):
        return path in self.disk.files

    def get_bin_path(self, name):
        return None

    def run_command(self, args, **kw):
        self.disk.log.append(("run",) + tuple(args))
        if "module show like app_voicemail.so" in args:
            return 0, "app_voicemail.so   Comedian Mail   Running   core\n", ""
        if "core show applications like VoiceMail" in args:
            return 0, ("    VoiceMail: Leave a Voicemail message.\n" if self.registered else ""), ""
        if "--pretend" in args:
            w = self.want
            return self.msmtp_rc, ("host = %s\nport = %d\nfrom = %s\ntls = on\ntls_starttls = on\n"
                                   "domain = %s\n" % (w["server"], w["port"], w["from"], w["domain"])), ""
        if mail.MSMTP in args:
            return self.send_rc, "", ("" if self.send_rc == 0 else
                                      "msmtp: server message: 535 5.7.8 Authentication credentials invalid")
        return 0, "", ""


def mail_disk():
    return FakeDisk({mail.MSMTPRC: (RC_OLD, "root", "asterisk", 0o640),
                     mail.VOICEMAIL_CONF: (DEBIAN_VM, "asterisk", "asterisk", 0o640),
                     mail.MODULES_CONF: (MODS_ODBC, "asterisk", "asterisk", 0o640),
                     "/etc/ca.pem": (b"CA", "root", "root", 0o644)})


def run_mail(disk, p, odbc=True, check_mode=False, diff=False, **host_kw):
    module = TxModule(check_mode=check_mode, diff=diff, no_log_values=[p["password"]] if p.get("password") else [])
    change = mail.MailChange()
    change.odbc_module_present = lambda files=None: odbc
    host = MailHost(module, disk, **host_kw)
    host.want = mail.validate(p)
    t = tx.Transaction(module, change, host=host, writer=FakeWriter(disk),
                       portplan_check=lambda h, m, b: None)
    with pytest.raises(Exit) as e:
        t.run(p)
    return e.value


def test_planner_writes_three_files_reloads_and_sends_the_test_mail():
    disk = mail_disk()
    r = run_mail(disk, params(tls_ca_file="/etc/ca.pem", send_test_to="ops@example.org"), diff=True)
    assert not r.failed, r.result["msg"]
    res = r.result
    assert (res["msmtprc_changed"], res["voicemail_changed"], res["modules_changed"], res["reloaded"],
            res["restarted"]) == (True, True, True, True, False)
    assert res["test_mail"] == "test mail sent to ops@example.org via smtp.example.org:587"
    assert [e[1] for e in disk.log if e[0] == "write"] == [mail.MSMTPRC, mail.MODULES_CONF, mail.VOICEMAIL_CONF]
    assert disk.files[mail.MSMTPRC][1:] == ("root", "asterisk", 0o640)
    assert b"noload => app_voicemail_odbc.so" in disk.files[mail.MODULES_CONF][0]
    # the diff: neither password (old from the file, new from the task) nor a PIN
    text = repr(res["diff"])
    assert "0ld-Pa55word" not in text and params()["password"] not in text and "4242" not in text
    for d in res["diff"]:
        if d["before_header"] == mail.MSMTPRC:
            for side in ("before", "after"):
                assert [ln for ln in d[side].splitlines() if ln.startswith("password")][0].startswith(
                    "password <secret:")


def test_planner_refused_test_mail_restores_every_file_modules_conf_too():
    disk = mail_disk()
    before = dict(disk.files)
    r = run_mail(disk, params(tls_ca_file="/etc/ca.pem", send_test_to="ops@example.org"), send_rc=77)
    assert r.failed
    msg = r.result["msg"]
    assert msg.startswith("the new mail settings did not hold; the previous files were restored")
    assert "the test mail to ops@example.org was not sent (msmtp exit 77)" in msg and "535 5.7.8" in msg
    assert disk.files == before
    assert ("run", "timeout", "--kill-after=5", "20", "asterisk", "-rx", "module reload app_voicemail.so") \
        in disk.log[-3:]


def test_planner_check_mode_predicts_restart_and_sends_nothing():
    disk = mail_disk()
    r = run_mail(disk, params(tls_ca_file="/etc/ca.pem", send_test_to="ops@example.org"), check_mode=True,
                 registered=False)
    assert not r.failed and r.result["changed"] and r.result["restarted"]
    assert r.result["test_mail"] == "not sent in check mode (would go to ops@example.org)"
    assert [e for e in disk.log if e[0] != "run"] == []
    assert not [e for e in disk.log if mail.MSMTP in e]


def test_planner_no_change_still_sends_and_a_refusal_fails_without_writes():
    disk = mail_disk()
    p = params(tls_ca_file="/etc/ca.pem", send_test_to="ops@example.org")
    assert not run_mail(disk, p, odbc=True).failed
    disk.log[:] = []
    r = run_mail(disk, p, send_rc=77)
    assert r.failed and r.result["changed"] is False
    assert r.result["msg"].startswith("the test mail to ops@example.org was not sent")
    assert [e for e in disk.log if e[0] != "run"] == []


def test_planner_missing_ca_file_fails_before_any_write():
    disk = mail_disk()
    r = run_mail(disk, params(tls_ca_file="/etc/nonexistent.pem"))
    assert r.failed and r.result["msg"] == "tls_ca_file: /etc/nonexistent.pem does not exist on the host"
    assert [e for e in disk.log if e[0] != "run"] == []

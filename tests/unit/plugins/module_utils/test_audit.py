# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit as audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile


def cfgs(text, path="/etc/asterisk/x.conf"):
    return [ConfigFile(text, path)]


def ids(findings):
    return sorted(f["id"] for f in findings)


def test_manager():
    f = audit.audit_manager(cfgs(
        "[general]\nenabled=yes\nbindaddr=0.0.0.0\n"
        "[open]\nsecret=admin\nread=all\n"
        "[wide]\nsecret=Str0ng!Pass\ndeny=0.0.0.0/0.0.0.0\npermit=0.0.0.0/0.0.0.0\n"
        "[good]\nsecret=Str0ng!Pass\ndeny=0.0.0.0/0.0.0.0\ndeny=::/0\npermit=127.0.0.1/32\nread=system\n"))
    assert ids(f) == ["AMI-ALL-PERMS", "AMI-BIND-ALL", "AMI-NO-ACL", "AMI-PERMIT-ALL", "AMI-WEAK-SECRET"]
    assert [x["line"] for x in f if x["id"] == "AMI-NO-ACL"] == [4]
    assert not [x for x in f if "good" in x["message"]]


def test_manager_loopback_default_clean():
    assert audit.audit_manager(cfgs("[general]\nenabled = yes\nbindaddr = 127.0.0.1\n")) == []
    assert ids(audit.audit_manager(cfgs("[general]\nenabled = yes\n"))) == ["AMI-BIND-ALL"]


def test_pjsip():
    f = audit.audit_pjsip(cfgs(
        "[1001]\ntype=auth\nusername=1001\npassword=1001\n"
        "[1002]\ntype=auth\nusername=1002\npassword=secret\n"
        "[1003]\ntype=auth\nusername=1003\npassword=G00d!Secret\n"
        "[t](!)\ntype=auth\npassword=x\n"
        "[tls]\ntype=transport\nprotocol=tls\nmethod=tlsv1\n"))
    assert ids(f) == ["SIP-SECRET-IS-USER", "SIP-TLS-OLD", "SIP-WEAK-SECRET"]


def test_pjsip_tls_methods_as_measured():
    """No method means TLS 1.0 only in Asterisk 22 (measured): flagged; tlsv1_2
    is clean; sslv23 follows OpenSSL's system minimum: info only."""
    def tls_ids(method_line):
        return ids(audit.audit_pjsip(cfgs("[t]\ntype=transport\nprotocol=tls\n" + method_line)))
    assert tls_ids("") == ["SIP-TLS-OLD"]
    assert tls_ids("method=default\n") == ["SIP-TLS-OLD"]
    assert tls_ids("method=tlsv1_1\n") == ["SIP-TLS-OLD"]
    assert tls_ids("method=tlsv1_2\n") == []
    f = audit.audit_pjsip(cfgs("[t]\ntype=transport\nprotocol=tls\nmethod=sslv23\n"))
    assert [(x["id"], x["severity"]) for x in f] == [("SIP-TLS-SYSTEM-MIN", "info")]
    assert tls_ids("method=tlsv1_2\n") == [] and not audit.audit_pjsip(cfgs("[u]\ntype=transport\nprotocol=udp\n"))


def test_iax():
    f = audit.audit_iax(cfgs(
        "[general]\nrequirecalltoken=no\n"
        "[guest]\ntype=user\ncontext=public\n"
        "[p]\ntype=friend\nauth=plaintext\nsecret=weak\n"
        "[k]\ntype=user\nauth=rsa\ninkeys=k\n"))
    assert ids(f) == ["IAX-NO-AUTH", "IAX-NO-CALLTOKEN", "IAX-PLAINTEXT", "IAX-WEAK-SECRET"]


def test_http_and_ari():
    f = audit.audit_http(cfgs("[general]\nenabled=yes\nbindaddr=0.0.0.0\n"),
                         cfgs("[u]\ntype=user\npassword=weak\n[c]\ntype=user\npassword_format=crypt\npassword=$6$x\n"))
    assert ids(f) == ["ARI-PLAIN-PASSWORD", "ARI-WEAK-PASSWORD", "HTTP-NO-TLS"]
    f = audit.audit_http(cfgs("[general]\nenabled=yes\ntlsenable=yes\ntlsdisablev1=no\n"), [])
    assert ids(f) == ["HTTP-TLS10", "HTTP-TLS11"]
    assert audit.audit_http(cfgs("[general]\nenabled=yes\ntlsenable=yes\ntlsdisablev11=yes\n"), []) == []


@pytest.mark.parametrize("line,expected", [
    ("1000 => ,Nobody", ["VM-EMPTY-PIN"]), ("1001 => 1234,A", ["VM-TRIVIAL-PIN"]), ("1002 => 1002,A", ["VM-TRIVIAL-PIN"]),
    ("1003 => 7777,A", ["VM-TRIVIAL-PIN"]), ("1004 => 8474,A", []), ("1005 => -9183,A", []),
    ("1234 => 5678,Company2 User,root@localhost", ["VM-TRIVIAL-PIN"]), ("1006 => 4242,A", ["VM-TRIVIAL-PIN"]),
    ("1007 => 7890,A", ["VM-TRIVIAL-PIN"]), ("1008 => 9876,A", ["VM-TRIVIAL-PIN"]), ("1009 => 123,A", ["VM-TRIVIAL-PIN"]),
    ("1010 => -0000,A", ["VM-TRIVIAL-PIN"]), ("1011 => 1101,A", ["VM-TRIVIAL-PIN"]), ("1012 => 2580,A", ["VM-TRIVIAL-PIN"]),
    ("1013 => 1357,A", ["VM-TRIVIAL-PIN"]), ("1014 => 1235,A", []), ("1015 => 90210,A", []),
])
def test_voicemail(line, expected):
    assert ids(audit.audit_voicemail(cfgs("[general]\nformat=wav\n[default]\n%s\n" % line))) == expected


def test_sshd_and_services():
    assert ids(audit.audit_sshd("permitrootlogin yes\npasswordauthentication yes\nauthenticationmethods any\n")) == [
        "SSH-PASSWORD-NO-2FA", "SSH-ROOT-PASSWORD"]
    assert audit.audit_sshd("permitrootlogin without-password\npasswordauthentication yes\n"
                            "authenticationmethods password,keyboard-interactive\n") == []
    assert ids(audit.audit_services({"vsftpd": "active", "tftpd-hpa": "inactive", "tftpd-hpa.socket": "active"})) == [
        "FTP-ENABLED", "TFTP-ENABLED"]


@pytest.mark.parametrize("pin,why", [
    ("0000", "one digit repeated"), ("1234", "a sequence"), ("5678", "a sequence"), ("8901", "a sequence"),
    ("4321", "a sequence"), ("1212", "a repeated pattern"), ("123123", "a repeated pattern"),
    ("2001", "the mailbox number"), ("1002", "the mailbox number"), ("12", "shorter than 4 digits"),
    ("4242", "a repeated pattern"), ("6969", "a repeated pattern"), ("2580", "a well-known PIN"),
    ("8474", None), ("1235", None), ("x234", None),
])
def test_trivial_pin(pin, why):
    assert audit.trivial_pin(pin, "1002") == why


GLOBAL = "permitrootlogin without-password\npasswordauthentication yes\nkbdinteractiveauthentication no\nusepam yes\nauthenticationmethods any\n"
TOTP = ("permitrootlogin without-password\npasswordauthentication yes\nkbdinteractiveauthentication yes\nusepam yes\n"
        "authenticationmethods publickey,keyboard-interactive keyboard-interactive\n")


def test_sshd_per_user():
    # nobody has a password: only an info finding
    assert ids(audit.audit_sshd(GLOBAL, {})) == ["SSH-PASSWORD-ENABLED"]
    assert audit.audit_sshd(GLOBAL, {})[0]["severity"] == "info"
    # a password user without a second factor
    f = audit.audit_sshd(GLOBAL, {"bob": ([GLOBAL], False)})
    assert ids(f) == ["SSH-PASSWORD-NO-2FA"] and "bob" in f[0]["message"]
    # keyboard-interactive only, with the TOTP file: two factors; without the file (nullok): one
    assert ids(audit.audit_sshd(GLOBAL, {"admin": ([TOTP], True)})) == ["SSH-PASSWORD-ENABLED"]
    assert not audit.single_factor_password(audit.parse_sshd_t(TOTP.replace("passwordauthentication yes",
                                                                            "passwordauthentication no")), True)
    assert audit.single_factor_password(audit.parse_sshd_t(TOTP.replace("passwordauthentication yes",
                                                                        "passwordauthentication no")), False)
    # password allowed but the chain requires keyboard-interactive: not single
    assert not audit.single_factor_password(audit.parse_sshd_t(TOTP), True)
    # one address lets the user in with a password alone
    f = audit.audit_sshd(GLOBAL, {"admin": ([TOTP, GLOBAL], True)})
    assert ids(f) == ["SSH-PASSWORD-NO-2FA"]
    # root with prohibit-password is never a password user
    assert not audit.single_factor_password(audit.parse_sshd_t(GLOBAL), False, "root")
    assert ids(audit.audit_sshd(GLOBAL.replace("passwordauthentication yes", "passwordauthentication no"), {})) == []


def test_pam_and_shadow():
    assert audit.pam_has_totp("# x\nauth required pam_google_authenticator.so nullok\n@include common-auth\n")
    assert not audit.pam_has_totp("# auth required pam_google_authenticator.so\n@include common-auth\n")
    shadow = "root:*:1::::::\nadmin:$6$abc$def:1::::::\nlocked:!$6$x:1::::::\nnopw::1::::::\n"
    assert audit.password_users(shadow) == ["admin"]


def test_kea_foreign_tftp():
    conf = {"Dhcp4": {"subnet4": [{"option-data": [{"name": "tftp-server-name", "data": "tftp://203.0.113.9/cfg"}]}]}}
    f = audit.audit_kea(json.dumps(conf).encode(), {"198.18.0.11"})
    assert ids(f) == ["DHCP-FOREIGN-TFTP"]
    conf["Dhcp4"]["subnet4"][0]["option-data"][0]["data"] = "198.18.0.11"
    assert audit.audit_kea(json.dumps(conf).encode(), {"198.18.0.11"}) == []


def test_no_secret_in_findings():
    f = audit.audit_manager(cfgs("[u]\nsecret=Hunter2weak\n")) + audit.audit_pjsip(cfgs("[a]\ntype=auth\npassword=Hunter3weak\n"))
    assert f and "Hunter" not in json.dumps(f)


def test_summarize():
    counts, worst = audit.summarize([audit.finding("X", "medium", "f", 1, "m", "r")])
    assert counts["medium"] == 1 and worst == "medium"
    assert audit.summarize([])[1] == "none"


def test_load_follows_includes(tmp_path):
    (tmp_path / "manager.conf").write_text('[general]\n#include "manager.d/*.conf"\n')
    (tmp_path / "manager.d").mkdir()
    (tmp_path / "manager.d" / "a.conf").write_text("[a]\nsecret=x\n")

    def reader(p):
        try:
            return open(p, "rb").read()
        except IOError:
            return None
    loaded = audit.load(str(tmp_path / "manager.conf"), reader)
    assert [s.name for c in loaded for s in c.sections] == ["general", "a"]

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

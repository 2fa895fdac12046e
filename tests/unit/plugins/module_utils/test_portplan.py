# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as pp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

PJSIP = b"""; transports
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0

[transport-tcp]
type = transport
protocol = tcp
bind = 0.0.0.0:5060

[transport-tls]
type=transport
protocol=tls
bind=198.18.0.11
cert_file=/etc/asterisk/keys/sip.crt

[tmpl](!)
type=transport
protocol=udp
bind=0.0.0.0:7000

[6001]
type=endpoint
"""


def ports(bindings):
    return sorted((b.service, b.proto, b.port, b.address) for b in bindings)


@pytest.mark.parametrize("text,port,addr", [
    ("1.2.3.4:5060", 5060, "1.2.3.4"),
    ("1.2.3.4", 9, "1.2.3.4"),
    ("[::1]:5061", 5061, "::1"),
    ("::", 9, "::"),
    ("", 9, ""),
    ("0.0.0.0:80", 80, "0.0.0.0"),
    ("host:bad", 9, "host"),
])
def test_split_hostport(text, port, addr):
    assert pp.split_hostport(text, 9) == (addr, port)


def test_pjsip_transports_defaults_and_templates():
    b = pp.pjsip_bindings(PJSIP)
    assert ports(b) == [("pjsip", "tcp", 5060, ""), ("pjsip", "tcp", 5061, "198.18.0.11"),
                        ("pjsip", "udp", 5060, "")]
    assert all("transport-" in x.name for x in b)


def test_pjsip_ws_ignored():
    assert pp.pjsip_bindings(b"[ws]\ntype=transport\nprotocol=wss\nbind=0.0.0.0\n") == []


def test_pjsip_included_file(tmp_path):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import load_tree
    (tmp_path / "pjsip.conf").write_bytes(b'#include "pjsip.d/*.conf"\n')
    (tmp_path / "pjsip.d").mkdir()
    (tmp_path / "pjsip.d" / "t.conf").write_bytes(b"[t]\ntype=transport\nprotocol=tcp\nbind=0.0.0.0:5080\n")
    b = pp.pjsip_bindings(load_tree(str(tmp_path / "pjsip.conf")))
    assert ports(b) == [("pjsip", "tcp", 5080, "")]
    assert b[0].source.endswith("t.conf")


@pytest.mark.parametrize("text,expected", [
    (b"[general]\nenabled=no\nbindaddr=0.0.0.0\n", []),
    (b"[general]\nbindaddr=127.0.0.1\n", []),
    (b"[general]\nenabled=yes\nbindaddr=127.0.0.1\n", [("http", "tcp", 8088, "127.0.0.1")]),
    (b"[general]\nenabled=yes\nbindaddr=0.0.0.0\nbindport=8080\n", [("http", "tcp", 8080, "")]),
    (b"[general]\nenabled=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8443\n", [("http", "tcp", 8443, "")]),
    (b"[general]\nenabled=yes\ntlsenable=yes\n", [("http", "tcp", 8089, "")]),
])
def test_http(text, expected):
    assert ports(pp.http_bindings(text)) == expected


@pytest.mark.parametrize("text,expected", [
    (b"[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n", [("ami", "tcp", 5038, "127.0.0.1")]),
    (b"[general]\nenabled = no\n", []),
    (b"[general]\nenabled = yes\n", [("ami", "tcp", 5038, "")]),
    (b"[general]\nenabled=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:5040\n",
     [("ami", "tcp", 5038, ""), ("ami", "tcp", 5040, "")]),
])
def test_manager(text, expected):
    assert ports(pp.manager_bindings(text)) == expected


@pytest.mark.parametrize("text,expected", [
    (b"[general]\n;bindport=4569\n", [("iax", "udp", 4569, "")]),
    (b"[general]\nbindport=4570\nbindaddr=10.0.0.1\n", [("iax", "udp", 4570, "10.0.0.1")]),
])
def test_iax(text, expected):
    assert ports(pp.iax_bindings(text)) == expected


def _readers(files):
    """read/glob over {path: text} for _sshd's reader."""
    import fnmatch
    data = dict((k, v.encode()) for k, v in files.items())
    return data.get, lambda pat: sorted(p for p in data if fnmatch.fnmatchcase(p, pat))


@pytest.mark.parametrize("files,expected", [
    ({"/etc/ssh/sshd_config": "#Port 22\nUsePAM yes\n"}, [22]),
    ({"/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\n#Port 22\n", "/etc/ssh/sshd_config.d/d.conf": "Port 8022\n"},
     [8022]),
    ({"/etc/ssh/sshd_config": "Port 22\nPort 8022\n"}, [22, 8022]),
    ({"/etc/ssh/sshd_config": "port 2222\nMatch User x\n  Port 3333\n"}, [2222]),
    # sshd splits lines at LF only: a form feed inside a line does not start one
    ({"/etc/ssh/sshd_config": "Port 2222 \x0cPort 3333\n"}, [2222]),
])
def test_sshd(files, expected):
    read, glob = _readers(files)
    assert pp.sshd.ports_or_default(read, glob) == expected


def test_sshd_include_expanded_in_place(tmp_path):
    d = tmp_path / "sshd_config.d"
    d.mkdir()
    (d / "50-a.conf").write_text("Port 8022\n")
    main = tmp_path / "sshd_config"
    main.write_text("Include %s/*.conf\nPort 22\n" % d)
    from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
    assert pp.sshd.ports(LOCAL.read, LOCAL.glob, str(main)) == [(8022, str(d / "50-a.conf")), (22, str(main))]
    assert pp.sshd.ports_or_default(LOCAL.read, LOCAL.glob, str(main)) == [8022, 22]


def test_vsftpd():
    assert ports(pp.vsftpd_bindings("listen=NO\n")) == [("ftp", "tcp", 21, "")]
    assert ports(pp.vsftpd_bindings("listen_port=2121\n")) == [("ftp", "tcp", 2121, "")]


def host():
    return (pp.pjsip_bindings(PJSIP) + pp.http_bindings(b"[general]\nenabled=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8088\n")
            + pp.manager_bindings(b"[general]\nenabled=yes\nbindaddr=127.0.0.1\n")
            + pp.sshd_bindings([22], "s") + pp.vsftpd_bindings("") + pp.tftp_bindings())


def test_check_ok_replaces_managed_service():
    plan = pp.check(host(), [pp.HTTP], [pp.Binding(pp.HTTP, "tcp", 8443, "0.0.0.0", "https")])
    assert ("http", "tcp", 8443, "") in ports(plan)
    assert ("http", "tcp", 8088, "") not in ports(plan)


def test_check_web_on_sip_port_refused():
    with pytest.raises(PolicyError) as e:
        pp.check(host(), [pp.HTTP], [pp.Binding(pp.HTTP, "tcp", 5060, "0.0.0.0", "https")])
    msg = str(e.value)
    assert "port clash on 5060/tcp" in msg and "transport-tcp" in msg and "http https" in msg


def test_check_udp_and_tcp_do_not_clash():
    pp.check(host(), [pp.SSH], [pp.Binding(pp.SSH, "tcp", 69)])


def test_check_reserved():
    with pytest.raises(PolicyError) as e:
        pp.check(host(), [pp.SSH], [pp.Binding(pp.SSH, "tcp", 8090)])
    assert "port 8090 is reserved" in str(e.value)


def test_check_lists_every_clash():
    want = [pp.Binding(pp.SSH, "tcp", 21), pp.Binding(pp.SSH, "tcp", 5038, name="second")]
    with pytest.raises(PolicyError) as e:
        pp.check(host(), [pp.SSH], want)
    assert "21/tcp" in str(e.value) and "5038/tcp" in str(e.value)


def test_different_addresses_do_not_clash():
    cur = [pp.Binding(pp.AMI, "tcp", 5038, "127.0.0.1")]
    pp.check(cur, [], [pp.Binding(pp.HTTP, "tcp", 5038, "198.18.0.11")])
    with pytest.raises(PolicyError):
        pp.check(cur, [], [pp.Binding(pp.HTTP, "tcp", 5038, "0.0.0.0")])


def test_same_owner_two_addresses_is_fine():
    cur = [pp.Binding(pp.SSH, "tcp", 22)]
    pp.check(cur, [], [])


def test_existing_clash_between_unmanaged_services_is_reported():
    cur = [pp.Binding(pp.FTP, "tcp", 2222), pp.Binding(pp.SSH, "tcp", 2222)]
    with pytest.raises(PolicyError):
        pp.check(cur, [pp.HTTP], [])


def test_collect(tmp_path):
    ast = tmp_path / "asterisk"
    ast.mkdir()
    (ast / "pjsip.conf").write_bytes(PJSIP)
    (ast / "http.conf").write_bytes(b"[general]\nenabled=yes\nbindaddr=127.0.0.1\n")
    (tmp_path / "sshd_config").write_text("Port 8022\n")
    (tmp_path / "vsftpd.conf").write_text("listen=YES\n")
    b = pp.collect(str(ast), str(tmp_path / "sshd_config"), str(tmp_path / "vsftpd.conf"),
                   enabled={"ssh": True, "ftp": False, "tftp": True})
    assert ("ssh", "tcp", 8022, "") in ports(b)
    assert ("tftp", "udp", 69, "") in ports(b)
    assert not [x for x in b if x.service == "ftp"]
    assert ("http", "tcp", 8088, "127.0.0.1") in ports(b)


def test_binding_dict_and_label():
    b = pp.Binding(pp.HTTP, "tcp", 8088, "[::1]", "https", "x")
    assert b.as_dict()["address"] == "::1"
    assert b.label() == "http https on [::1]:8088/tcp (x)"
    assert pp.Binding(pp.SSH, "tcp", 22).as_dict()["address"] == "*"

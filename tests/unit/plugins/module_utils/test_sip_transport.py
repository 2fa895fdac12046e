# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _sip_transport as st
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as pp
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile

CORPUS = sorted(glob.glob("/var/cache/pbxguard-lab/images/*/rootfs/etc/asterisk"))


def params(**kw):
    p = {"bind_address": "0.0.0.0", "udp": {}, "tcp": {}, "tls": {}, "iax_port": 4569}
    p.update(kw)
    return p


TLS = {"enabled": True, "cert_file": "/etc/asterisk/keys/sip.crt", "key_file": "/etc/asterisk/keys/sip.key"}


# ------------------------------------------------------------------ validate
def test_defaults():
    w = st.validate(params())
    assert w["udp"] == {"enabled": True, "port": 5060}
    assert w["tcp"] == {"enabled": True, "port": 5060}
    assert w["tls"]["enabled"] is False and w["tls"]["port"] == 5061
    assert w["iax_port"] == 4569


@pytest.mark.parametrize("kw,words", [
    ({"udp": {"port": 0}}, "udp.port: port 0 is out of range"),
    ({"udp": {"port": 70000}}, "udp.port: port 70000 is out of range"),
    ({"tcp": {"port": 8090}}, "tcp.port: port 8090 is reserved"),
    ({"iax_port": "x"}, "iax_port: must be a port number"),
    ({"bind_address": "0.0.0.0\n[evil]"}, "bind_address: is not an IP address"),
    ({"bind_address": "0.0.0.0;x"}, "bind_address: is not an IP address"),
    ({"bind_address": "[::]"}, "bind_address: is not an IP address"),
    ({"tls": {"enabled": True}}, "tls.cert_file: required when tls.enabled is true"),
    ({"tls": dict(TLS, security_level="ultra")}, "tls.security_level: unknown 'ultra'"),
    ({"tls": dict(TLS, cert_file="/etc/a.crt\n[x]")}, "tls.cert_file: must not contain"),
    ({"tls": dict(TLS, key_file="/etc/a;b")}, "tls.key_file: must not contain ';'"),
    ({"tls": dict(TLS, ca_file="/etc/[ca]")}, "tls.ca_file: must not contain '['"),
    ({"tls": dict(TLS, key_file="relative.key")}, "tls.key_file: must be an absolute path"),
    ({"tls": dict(TLS, port=5060)}, "tls.port: 5060 is tcp.port too"),
    ({"udp": {"enabled": False}, "tcp": {"enabled": False}}, "at least one SIP transport"),
])
def test_bad_input(kw, words):
    with pytest.raises(PolicyError) as e:
        st.validate(params(**kw))
    assert words in str(e.value)


def test_all_errors_at_once():
    with pytest.raises(PolicyError) as e:
        st.validate(params(udp={"port": 0}, tcp={"port": 8090}, bind_address="x"))
    assert str(e.value).count("\n") == 2


def test_tls_on_tcp_port_fine_when_tcp_off():
    w = st.validate(params(tcp={"enabled": False}, tls=dict(TLS, port=5060)))
    assert w["tls"]["port"] == 5060


def test_iax_port_none_is_unmanaged():
    assert st.validate(params(iax_port=None))["iax_port"] is None


# -------------------------------------------------------------------- render
def test_render_levels():
    for level, method in (("high", "tlsv1_2"), ("modern", "sslv23"), ("low", "sslv23")):
        data = st.render(st.validate(params(tls=dict(TLS, security_level=level))))
        cfg = ConfigFile.from_bytes(data)
        tls = cfg.first("pbxguard-tls", "transport")
        assert tls.get("method") == method
        assert tls.get("bind") == "0.0.0.0:5061"
        assert tls.get("cert_file") == TLS["cert_file"] and tls.get("priv_key_file") == TLS["key_file"]
        assert tls.get("ca_list_file") is None


def test_render_round_trips_and_disabled_absent():
    data = st.render(st.validate(params(udp={"enabled": False}, bind_address="2001:db8::1")))
    cfg = ConfigFile.from_bytes(data)
    assert cfg.to_bytes() == data
    assert [s.name for s in cfg.sections] == ["global", "pbxguard-tcp"]
    assert cfg.sections[1].get("bind") == "[2001:db8::1]:5060"
    assert cfg.sections[0].items() == [("type", "global"), ("unidentified_request_count", "3"),
                                       ("unidentified_request_period", "60"),
                                       ("unidentified_request_prune_interval", "60")]
    assert data.startswith(b"; managed by pbxguard.asterisk")


def test_render_ca():
    data = st.render(st.validate(params(tls=dict(TLS, ca_file="/etc/ssl/ca.pem"))))
    assert b"ca_list_file=/etc/ssl/ca.pem\n" in data


def test_render_read_back_by_portplan():
    w = st.validate(params(tls=TLS))
    b = pp.pjsip_bindings(st.render(w), "/etc/asterisk/" + st.MANAGED_NAME)
    assert sorted((x.proto, x.port) for x in b) == [("tcp", 5060), ("tcp", 5061), ("udp", 5060)]
    # the names the port plan reads back are the ones the task claims
    claimed = set((x.service, x.name) for x in st.wanted_bindings(w) if x.service == pp.PJSIP)
    assert set((x.service, x.name) for x in b) == claimed


# ------------------------------------------------------------- include / iax
def test_ensure_include_once():
    data = b"; pjsip\n[global]\ntype=global\n"
    once = st.ensure_include(data)
    assert once.startswith(data)
    assert once.endswith(b'; managed by pbxguard.asterisk: sip transports\n#tryinclude "%s"\n'
                         % st.MANAGED_NAME.encode())
    assert st.ensure_include(once) == once
    assert st.ensure_include(None).endswith(b'#tryinclude "pjsip_transport_pbxguard.conf"\n')


IAX = b"[general]\n;bindport=4569           ; The default port\nbandwidth=low\n\n[guest]\ntype=user\n"


def test_iax_default_port_not_written():
    assert st.plan_iax(IAX, 4569) == IAX
    assert st.plan_iax(IAX, None) == IAX


def test_iax_port_change_and_back():
    new = st.plan_iax(IAX, 4570)
    assert new == IAX.replace(b"bandwidth=low\n", b"bandwidth=low\nbindport = 4570\n")
    assert st.iax_port_of(new) == 4570
    assert st.plan_iax(new, 4570) == new
    back = st.plan_iax(new, 4569)
    assert st.iax_port_of(back) == 4569 and b"bindport = 4569" in back


def test_iax_no_general():
    new = st.plan_iax(b"[guest]\ntype=user\n", 4570)
    assert ConfigFile.from_bytes(new).sections[0].name == "general"
    assert st.iax_port_of(new) == 4570


def test_iax_bindaddr_refused():
    with pytest.raises(st.SipTransportError) as e:
        st.plan_iax(b"[general]\nbindaddr=1.2.3.4\n", 4570, "/etc/asterisk/iax.conf")
    assert "/etc/asterisk/iax.conf:2 sets bindaddr=1.2.3.4" in str(e.value)


@pytest.mark.skipif(not CORPUS, reason="no lab image corpus (make image)")
def test_real_iax_conf_untouched_at_default():
    data = open(os.path.join(CORPUS[0], "iax.conf"), "rb").read()
    assert st.plan_iax(data, 4569) == data
    assert st.iax_port_of(st.plan_iax(data, 4570)) == 4570


# ------------------------------------------------------------------ changes
def test_changes_reasons():
    w1 = st.validate(params())
    w2 = st.validate(params(udp={"port": 5070}, tcp={"enabled": False}, tls=TLS))
    old = {"managed": st.render(w1), "pjsip_conf": b"x", "iax_conf": IAX}
    new = {"managed": st.render(w2), "pjsip_conf": b"x", "iax_conf": st.plan_iax(IAX, 4570)}
    r = st.changes(old, new)
    assert "transport pbxguard-tcp removed" in r
    assert "transport pbxguard-tls added" in r
    assert "transport pbxguard-udp changed (bind 0.0.0.0:5060 -> 0.0.0.0:5070)" in r
    assert "IAX port 4569 -> 4570" in r
    first = st.changes({"managed": None, "pjsip_conf": b"", "iax_conf": IAX},
                       {"managed": st.render(w1), "pjsip_conf": b"#tryinclude", "iax_conf": IAX})
    assert first == ["transport pbxguard-tcp added", "transport pbxguard-udp added",
                     "pjsip.conf now includes pjsip_transport_pbxguard.conf"]


# ---------------------------------------------------------------- port plan
def test_port_plan_clash_with_web_and_reserved():
    w = st.validate(params(tls=dict(TLS, port=8088)))
    current = pp.http_bindings(b"[general]\nenabled=yes\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8088\n")
    with pytest.raises(PolicyError) as e:
        pp.check(current, st.managed_owners(w, current), st.wanted_bindings(w))
    assert "port clash on 8088/tcp" in str(e.value) and "pbxguard-tls" in str(e.value)


def test_port_plan_own_transports_replaced():
    w_old = st.validate(params())
    path = "/etc/asterisk/" + st.MANAGED_NAME
    current = pp.pjsip_bindings(st.render(w_old), path) + pp.iax_bindings(IAX)
    w = st.validate(params(udp={"port": 5070}, iax_port=4570))
    plan = pp.check(current, st.managed_owners(w, current), st.wanted_bindings(w))
    assert sorted((b.proto, b.port) for b in plan) == [("tcp", 5060), ("udp", 4570), ("udp", 5070)]


def test_port_plan_hand_written_transport_clashes():
    hand = pp.pjsip_bindings(b"[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0\n",
                             "/etc/asterisk/pjsip.conf")
    w = st.validate(params())
    with pytest.raises(PolicyError) as e:
        pp.check(hand, st.managed_owners(w, hand), st.wanted_bindings(w))
    assert "transport-udp" in str(e.value) and "pbxguard-udp" in str(e.value)


def test_port_plan_iax_on_sip_port():
    w = st.validate(params(iax_port=5060))
    with pytest.raises(PolicyError) as e:
        pp.check([], st.managed_owners(w, []), st.wanted_bindings(w))
    assert "port clash on 5060/udp" in str(e.value)


# ------------------------------------------------------------------ parsers
SHOW = """
Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress....................>
==========================================================================================

Transport:  pbxguard-tcp              tcp      0      0  0.0.0.0:5060
Transport:  pbxguard-tls              tls      0      0  [2001:db8::1]:5061
Transport:  pbxguard-udp              udp      0      0  0.0.0.0:5060

Objects found: 3
"""


def test_parse_transports():
    assert st.parse_transports(SHOW) == {"pbxguard-tcp": ("tcp", "0.0.0.0:5060"),
                                         "pbxguard-tls": ("tls", "[2001:db8::1]:5061"),
                                         "pbxguard-udp": ("udp", "0.0.0.0:5060")}
    assert st.parse_transports("No objects found.\n") == {}


SS = """State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
UNCONN 0      0            0.0.0.0:4569       0.0.0.0:*    users:(("asterisk",pid=74,fd=18))
UNCONN 0      0                  *:69               *:*    users:(("in.tftpd",pid=78,fd=3),("systemd",pid=1,fd=57))
UNCONN 0      0               [::]:51830         [::]:*    users:(("asterisk",pid=74,fd=11))
"""


def test_parse_ss():
    assert st.parse_ss(SS) == {(4569, "asterisk"), (69, "in.tftpd"), (69, "systemd"), (51830, "asterisk")}


def test_summary():
    w = st.validate(params(tls=dict(TLS, security_level="modern"), udp={"enabled": False}))
    assert st.summary(w) == "SIP on 0.0.0.0: UDP off, TCP 5060, TLS 5061 (TLS 1.2+1.3); IAX 4569"


# ----------------------------------------------------------- certificate files
def _cert(tmp_path, name):
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=t",
                    "-keyout", str(tmp_path / (name + ".key")), "-out", str(tmp_path / (name + ".crt"))],
                   check=True, capture_output=True)
    os.chmod(str(tmp_path / (name + ".key")), 0o600)
    return str(tmp_path / (name + ".crt")), str(tmp_path / (name + ".key"))


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks need root")
def test_check_files(tmp_path):
    import shutil
    if not shutil.which("openssl"):
        pytest.skip("no openssl")
    c, k = _cert(tmp_path, "a")
    _c2, k2 = _cert(tmp_path, "b")
    for f in (c, k, k2):
        os.chown(f, 0, 0)
        os.chmod(f, 0o644 if f.endswith(".crt") else 0o640)
    t = {"cert_file": c, "key_file": k, "ca_file": None}
    # "root" stands in for the asterisk account (user and group 0 exist everywhere)
    assert st.check_files(t, user="root") == []
    assert st.check_files(dict(t, ca_file=c), user="root") == []
    os.chmod(k, 0o644)
    assert any("world-readable" in p for p in st.check_files(t, user="root"))
    os.chmod(k, 0o600)
    os.chown(k, 65534, 65534)
    assert any("tls.key_file" in p and "not readable" in p for p in st.check_files(t, user="root"))
    assert any("tls.cert_file/key_file: the key does not match" in p
               for p in st.check_files(dict(t, key_file=k2), user="root"))
    problems = st.check_files(dict(t, key_file=k2, ca_file=str(tmp_path / "missing.pem")), user="root")
    assert any("tls.ca_file" in p and "does not exist" in p for p in problems)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a cert\n")
    os.chmod(str(bad), 0o644)
    problems = st.check_files(dict(t, key_file=k2, ca_file=str(bad)), user="root")
    assert any("ca_file" in p and "no usable PEM" in p for p in problems)
    assert any(p.startswith("tls.ca_file: ") and "it must hold at least one" in p for p in problems)
    # tls.ca_file = '/etc/asterisk/keys/' (fuzzing): "holds no usable PEM certificate ([Errno 21]
    # Is a directory)" named no rule; a directory is refused as not a regular file, as cert/key are
    problems = [p for p in st.check_files(dict(t, ca_file=str(tmp_path)), user="root") if "ca_file" in p]
    assert problems == ["tls.ca_file: %s is not a regular file (give the path of the PEM file)" % tmp_path]


LOG = """[Nov 29 06:41:20] NOTICE[1827] res_config_ldap.c: No directory user found, anonymous binding as default.
[Nov 29 06:41:20] ERROR[1827] res_pjsip/config_transport.c: Transport 'pbxguard-tcp' could not be started: Address already in use
[Nov 29 06:41:20] ERROR[1827] res_sorcery_config.c: Could not create an object of type 'transport' with id 'pbxguard-tcp'
[Nov 29 06:41:21] ERROR[1827] loader.c: cel_custom declined to load.
[Nov 29 06:41:22] WARNING[1916] app_voicemail_odbc.c:  Failed to obtain database object for 'asterisk'!
"""


def test_said_since_keeps_only_transport_lines(tmp_path):
    log = tmp_path / "messages.log"
    log.write_text("[old] ERROR[1] res_pjsip/config_transport.c: old line\n")
    offset = os.path.getsize(str(log))
    with open(str(log), "a") as f:
        f.write(LOG)
    said = st.said_since(str(log), offset)
    assert len(said) == 2 and "could not be started: Address already in use" in said[0]
    assert st.said_since(str(log), None) == [] and st.said_since(str(tmp_path / "none"), 0) == []


def test_name_conflicts(tmp_path):
    conf = tmp_path / "pjsip.conf"
    data = b'[pbxguard-tcp]\ntype=transport\nprotocol=tcp\nbind=0.0.0.0:5090\n#tryinclude "%s"\n' % (
        st.MANAGED_NAME.encode())
    conf.write_bytes(data)
    (tmp_path / st.MANAGED_NAME).write_bytes(st.render(st.validate(params())))
    problems = st.name_conflicts(str(conf), data)
    assert len(problems) == 1 and "%s:1 already defines transport 'pbxguard-tcp'" % conf in problems[0]
    assert st.name_conflicts(str(conf), b'#tryinclude "%s"\n' % st.MANAGED_NAME.encode()) == []
    assert st.name_conflicts(str(conf), None) == []


# ------------------------------------------------- through the change transaction
class LiveAsterisk(object):
    """A fake host's Asterisk: serves ``transports`` ({name: (proto, bind)});
    ``after_restart`` (when set) is what it serves after a restart."""

    def __init__(self, transports, after_restart=None, anonymous=True, settings=(5, 5, 30), disk=None):
        self.transports = dict(transports)
        self.after_restart = after_restart
        self.restarts = 0
        self.anonymous = anonymous
        self.settings = settings
        self.disk = disk
        self.refuse_settings = False

    def _read_settings(self):
        """What res_pjsip would take from the managed file on the fake disk."""
        if self.refuse_settings:
            return
        for path, entry in (self.disk.files if self.disk else {}).items():
            if path.endswith(st.MANAGED_NAME):
                g = dict(st.globals_of(entry[0]))
                self.settings = tuple(int(g.get(opt, d)) for dummy, opt, d, dummy2 in st.UNIDENTIFIED) \
                    if g else (5, 5, 30)

    def answer(self, args):
        if args[:2] == ["systemctl", "restart"]:
            self.restarts += 1
            if self.after_restart is not None:
                self.transports = dict(self.after_restart)
            self._read_settings()
            mods = [e[0] for p, e in (self.disk.files if self.disk else {}).items() if p.endswith("modules.conf")]
            if mods:
                from ansible_collections.pbxguard.asterisk.plugins.module_utils import _modules_conf as mc
                self.anonymous = mc.loads(mods[0], st.ANON_MODULE)
            return 0, "", ""
        cmd = args[-1] if args[:1] == ["timeout"] else None
        if cmd == "pjsip show settings":
            return 0, "\nGlobal Settings:\n\n ParameterName  : ParameterValue\n " + "".join(
                " %s : %s\n" % (opt.ljust(40), v) for (k, opt, d, t), v in zip(st.UNIDENTIFIED, self.settings)), ""
        if cmd == "module show like anonymous":
            return 0, "Module  Description  Use Count  Status  Support Level\n" + (
                "%s PJSIP Anonymous endpoint identifier      0          Running              core\n"
                "1 modules loaded\n" % st.ANON_MODULE if self.anonymous else "0 modules loaded\n"), ""
        if cmd == "module unload " + st.ANON_MODULE:
            self.anonymous = False
            return 0, "Unloaded %s\n" % st.ANON_MODULE, ""
        if cmd == "module load " + st.ANON_MODULE:
            self.anonymous = True
            return 0, "Loaded %s\n" % st.ANON_MODULE, ""
        if cmd == "module reload res_pjsip.so":
            self._read_settings()
            return 0, "Module 'res_pjsip.so' reloaded successfully.\n", ""
        if args[:1] == ["ss"]:
            l4 = "udp" if "-lnup" in args else "tcp"
            socks = [int(b.rpartition(":")[2]) for p, b in self.transports.values() if (p == "udp") == (l4 == "udp")]
            if l4 == "udp":
                socks.append(4569)
            return 0, "".join('UNCONN 0 0 0.0.0.0:%d 0.0.0.0:* users:(("asterisk",pid=7,fd=9))\n' % s
                              for s in socks), ""
        if args[:1] == ["timeout"] and args[-1] == "pjsip show transports":
            return 0, "".join("Transport:  %s  %s  0  0  %s\n" % (n, p, b)
                              for n, (p, b) in sorted(self.transports.items())) or "No objects found.\n", ""
        return 0, "", ""


MODULES = b"[modules]\nautoload=yes\nnoload => pbx_gtkconsole.so\n\n[global]\n"
UDP_TCP = {"pbxguard-udp": ("udp", "0.0.0.0:5060"), "pbxguard-tcp": ("tcp", "0.0.0.0:5060")}


def run_change(tmp_path, disk, live, check_mode=False, **kw):
    from ansible_collections.pbxguard.asterisk.plugins.module_utils import _transaction as tx
    from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import (
        Exit, FakeHost, FakeModule, FakeWriter)

    class Host(FakeHost):
        def run_command(self, args, **kwargs):
            self.disk.log.append(("run",) + tuple(args))
            return live.answer(args)

    module = FakeModule(check_mode=check_mode, diff=True)
    if live.disk is None:
        live.disk = disk
    p = params(pjsip_config=str(tmp_path / "pjsip.conf"), iax_config=str(tmp_path / "iax.conf"),
               modules_config=str(tmp_path / "modules.conf"), **kw)
    t = tx.Transaction(module, st.SipTransportChange(), host=Host(module, disk), writer=FakeWriter(disk))
    with pytest.raises(Exit) as e:
        t.run(p)
    return e.value


def debian(tmp_path):
    from ansible_collections.pbxguard.asterisk.tests.unit.plugins.module_utils.test_transaction import FakeDisk
    own = ("asterisk", "asterisk", 0o640)
    return FakeDisk({str(tmp_path / "pjsip.conf"): (b"; every line of Debian's sample is a comment\n",) + own,
                     str(tmp_path / "iax.conf"): (b"[general]\n",) + own,
                     str(tmp_path / "modules.conf"): (MODULES,) + own})


def restarts(disk):
    return [e for e in disk.log if e[:3] == ("run", "systemctl", "restart")]


def test_change_writes_restarts_once_and_reads_back(tmp_path):
    disk = debian(tmp_path)
    r = run_change(tmp_path, disk, LiveAsterisk({}, after_restart=UDP_TCP))
    assert not r.failed, r.result.get("msg")
    res = r.result
    assert res["changed"] and res["restarted"] is True and res["restart_needed"] is True
    assert res["restart_reason"] == ["transport pbxguard-tcp added", "transport pbxguard-udp added",
                                     "pjsip.conf now includes pjsip_transport_pbxguard.conf",
                                     "PJSIP global unidentified_request_count (default) -> 3",
                                     "PJSIP global unidentified_request_period (default) -> 60",
                                     "PJSIP global unidentified_request_prune_interval (default) -> 60"]
    assert res["reloaded"] is False and res["anonymous_action"] is None  # the restart leaves it unloaded
    assert res["anonymous_identifier"] == "not loaded" and res["modules_changed"] is True
    assert res["live_transports"] == {"pbxguard-tcp": "tcp 0.0.0.0:5060", "pbxguard-udp": "udp 0.0.0.0:5060"}
    assert [e[1] for e in disk.log if e[0] == "write"] == [str(tmp_path / st.MANAGED_NAME),
                                                           str(tmp_path / "pjsip.conf"),
                                                           str(tmp_path / "modules.conf")]
    assert disk.files[str(tmp_path / "modules.conf")][0] == MODULES.replace(
        b"gtkconsole.so\n", b"gtkconsole.so\nnoload => res_pjsip_endpoint_identifier_anonymous.so\n")
    assert len(restarts(disk)) == 1
    assert res["summary"] == "SIP on 0.0.0.0: UDP 5060, TCP 5060, TLS off; IAX 4569"
    wanted = set((b["service"], b["proto"], b["port"]) for b in res["port_plan"] if b["source"] == "task")
    assert wanted == set([(pp.PJSIP, "udp", 5060), (pp.PJSIP, "tcp", 5060), (pp.IAX, "udp", 4569)])


def test_unchanged_files_and_matching_asterisk_no_restart(tmp_path):
    disk = debian(tmp_path)
    live = LiveAsterisk({}, after_restart=UDP_TCP)
    run_change(tmp_path, disk, live)
    disk.log = []
    r = run_change(tmp_path, disk, live)
    assert not r.failed and r.result["changed"] is False and r.result["restarted"] is False
    assert r.result["live_transports"] == {"pbxguard-tcp": "tcp 0.0.0.0:5060", "pbxguard-udp": "udp 0.0.0.0:5060"}
    assert restarts(disk) == [] and not any(e[0] == "write" for e in disk.log)


def test_drift_is_a_change_restart_without_writing(tmp_path):
    disk = debian(tmp_path)
    live = LiveAsterisk({}, after_restart=UDP_TCP)
    run_change(tmp_path, disk, live)
    live.transports = dict(UDP_TCP, **{"pbxguard-udp": ("udp", "0.0.0.0:5064")})
    disk.log = []
    r = run_change(tmp_path, disk, live, check_mode=True)
    assert r.result["changed"] and r.result["restarted"] is False and restarts(disk) == []
    assert any("pbxguard-udp is live as udp 0.0.0.0:5064" in d for d in r.result["drift"])
    r = run_change(tmp_path, disk, live)
    assert not r.failed and r.result["changed"] and r.result["restarted"] is True
    assert len(restarts(disk)) == 1 and not any(e[0] == "write" for e in disk.log)


def test_not_taken_restores_files_and_restarts_again(tmp_path):
    disk = debian(tmp_path)
    before = dict(disk.files)
    # pjsip could not bind TCP: only UDP comes up
    r = run_change(tmp_path, disk, LiveAsterisk({}, after_restart={"pbxguard-udp": ("udp", "0.0.0.0:5060")}))
    assert r.failed
    msg = r.result["msg"]
    assert msg.startswith("Asterisk did not take the new transports; the previous files were restored and "
                          "Asterisk restarted. Live state: transport pbxguard-tcp is not loaded"), msg
    assert disk.files == before
    assert len(restarts(disk)) == 2  # the change, then the revert onto the old files


def test_bad_port_plan_refused_before_any_write(tmp_path):
    disk = debian(tmp_path)
    r = run_change(tmp_path, disk, LiveAsterisk({}), iax_port=5060)
    assert r.failed and "port clash on 5060/udp" in r.result["msg"]
    assert not any(e[0] == "write" for e in disk.log) and restarts(disk) == []


# ------------------------------------------- PJSIP global object, anonymous identifier
@pytest.mark.parametrize("kw,words", [
    ({"unidentified_requests": {"count": 0}}, "unidentified_requests.count: must be a whole number from 1 to 1000"),
    ({"unidentified_requests": {"period": 86401}}, "unidentified_requests.period: must be a whole number from 1"),
    ({"unidentified_requests": {"prune_interval": True}}, "unidentified_requests.prune_interval: must be a whole"),
    ({"unidentified_requests": {"count": "3"}}, "unidentified_requests.count: must be a whole number"),
    ({"unidentified_requests": {"burst": 3}}, "unidentified_requests.burst: unknown"),
    ({"unidentified_requests": "3/60"}, "unidentified_requests: must be a dict"),
    ({"anonymous": "no"}, "anonymous: must be true or false"),
])
def test_bad_global_and_anonymous_input(kw, words):
    with pytest.raises(PolicyError) as e:
        st.validate(params(**kw))
    assert words in str(e.value)


def test_unidentified_defaults_and_null():
    assert st.validate(params())["unidentified"] == {"count": 3, "period": 60, "prune_interval": 60}
    assert st.validate(params())["anonymous"] is False
    w = st.validate(params(unidentified_requests=None))
    assert st.validate(params(unidentified_requests={"enabled": False, "count": 3}))["unidentified"] is None
    assert w["unidentified"] is None and b"type=global" not in st.render(w)


def test_global_changes_and_transport_reasons_apart():
    a = st.render(st.validate(params(unidentified_requests=None)))
    b = st.render(st.validate(params()))
    c = st.render(st.validate(params(unidentified_requests={"count": 5})))
    old = {"managed": a, "pjsip_conf": b"", "iax_conf": b""}
    assert st.changes(old, dict(old, managed=b)) == []  # the global object alone: no restart
    assert st.global_changes(b, c) == ["PJSIP global unidentified_request_count 3 -> 5"]
    assert st.global_changes(b, a) == ["PJSIP global object removed (res_pjsip's defaults apply)"]
    assert st.global_changes(c, c) == []


def test_parse_settings():
    text = ("\nGlobal Settings:\n\n ParameterName                              : ParameterValue\n"
            " ====\n endpoint_identifier_order                  : ip,username,anonymous\n"
            " unidentified_request_count                 : 5\n")
    got = st.parse_settings(text)
    assert got["unidentified_request_count"] == "5" and got["endpoint_identifier_order"] == "ip,username,anonymous"


def test_hand_written_global_refused_unless_null(tmp_path):
    conf = tmp_path / "pjsip.conf"
    data = b'[global]\ntype=global\nuser_agent=x\n#tryinclude "%s"\n' % st.MANAGED_NAME.encode()
    conf.write_bytes(data)
    problems = st.name_conflicts(str(conf), data, want_global=True)
    assert len(problems) == 1 and problems[0].startswith("unidentified_requests: %s:1 already defines the PJSIP "
                                                         "global object ([global], type=global)" % conf)
    assert "unidentified_requests.enabled: false" in problems[0]
    assert st.name_conflicts(str(conf), data, want_global=False) == []


def test_plan_modules_anonymous():
    noload = MODULES.replace(b"gtkconsole.so\n", b"gtkconsole.so\nnoload => %s\n" % st.ANON_MODULE.encode())
    assert st.plan_modules(MODULES, False) == noload
    assert st.plan_modules(noload, False) == noload
    assert st.plan_modules(noload, True) == MODULES
    assert st.plan_modules(MODULES, True) == MODULES
    off = MODULES.replace(b"autoload=yes", b"autoload=no")
    assert st.plan_modules(off, False) == off
    with pytest.raises(PolicyError) as e:
        st.plan_modules(off, True)
    assert "anonymous: true, but" in str(e.value) and "load => %s" % st.ANON_MODULE in str(e.value)
    with pytest.raises(PolicyError) as e:
        st.plan_modules(MODULES + b"[modules](+)\nload => %s\n" % st.ANON_MODULE.encode(), False)
    assert str(e.value).startswith("anonymous: /etc/asterisk/modules.conf:7 says 'load => %s'" % st.ANON_MODULE)
    assert "set anonymous: true" in str(e.value)


def converged(tmp_path):
    disk = debian(tmp_path)
    live = LiveAsterisk({}, after_restart=UDP_TCP, disk=disk)
    r = run_change(tmp_path, disk, live)
    assert not r.failed, r.result.get("msg")
    assert live.anonymous is False and live.settings == (3, 60, 60)
    disk.log = []
    return disk, live


def commands(disk):
    return [e[-1] for e in disk.log if e[:2] == ("run", "timeout") and e[-1].startswith("module ")
            and not e[-1].startswith("module show")]


def test_anonymous_loaded_by_hand_is_unloaded_live_without_restart(tmp_path):
    disk, live = converged(tmp_path)
    live.anonymous = True  # someone ran 'module load' by hand
    r = run_change(tmp_path, disk, live, check_mode=True)
    assert r.result["changed"] and r.result["anonymous_action"] == "unload" and live.anonymous is True
    assert commands(disk) == []
    r = run_change(tmp_path, disk, live)
    assert not r.failed and r.result["changed"] and r.result["restarted"] is False
    assert commands(disk) == ["module unload " + st.ANON_MODULE] and live.anonymous is False
    assert restarts(disk) == [] and not any(e[0] == "write" for e in disk.log)
    disk.log = []
    r = run_change(tmp_path, disk, live)
    assert not r.failed and r.result["changed"] is False and r.result["anonymous_action"] is None


def test_anonymous_true_removes_noload_and_loads(tmp_path):
    disk, live = converged(tmp_path)
    r = run_change(tmp_path, disk, live, anonymous=True)
    assert not r.failed and r.result["changed"] and r.result["anonymous_action"] == "load"
    assert disk.files[str(tmp_path / "modules.conf")][0] == MODULES and live.anonymous is True
    assert restarts(disk) == [] and commands(disk) == ["module load " + st.ANON_MODULE]


def test_global_only_change_reloads_res_pjsip(tmp_path):
    disk, live = converged(tmp_path)
    r = run_change(tmp_path, disk, live, check_mode=True, unidentified_requests={"count": 5, "period": 30})
    assert r.result["changed"] and r.result["reload_needed"] and r.result["restart_needed"] is False
    assert live.settings == (3, 60, 60) and not any(e[0] == "write" for e in disk.log)
    r = run_change(tmp_path, disk, live, unidentified_requests={"count": 5, "period": 30})
    assert not r.failed and r.result["reloaded"] is True and r.result["restarted"] is False
    assert r.result["reload_reason"] == ["PJSIP global unidentified_request_count 3 -> 5",
                                         "PJSIP global unidentified_request_period 60 -> 30"]
    assert live.settings == (5, 30, 60) and restarts(disk) == []
    assert commands(disk) == ["module reload res_pjsip.so"]


def test_global_not_taken_restores_and_reloads_again(tmp_path):
    disk, live = converged(tmp_path)
    before = dict(disk.files)
    live.refuse_settings = True
    r = run_change(tmp_path, disk, live, unidentified_requests={"count": 7})
    assert r.failed and r.result["msg"].startswith("res_pjsip did not take the new global settings")
    assert "unidentified_request_count=3, wanted 7" in r.result["msg"]
    assert disk.files == before and commands(disk) == ["module reload res_pjsip.so"] * 2


def test_anonymous_endpoint_matched_by_name_refused(tmp_path):
    conf = tmp_path / "pjsip.conf"
    for body, refused in ((b"", True), (b"identify_by=ip\n", False), (b"auth=a1\n", False),
                          (b"identify_by=ip,auth_username\n", True), (b"identify_by=request_uri\n", True)):
        data = b"[anonymous]\ntype=endpoint\ncontext=x\n" + body
        conf.write_bytes(data)
        problems = st.name_conflicts(str(conf), data, no_anonymous=True)
        assert bool(problems) == refused, (body, problems)
        assert st.name_conflicts(str(conf), data, no_anonymous=False) == []
    data = b"[anonymous@example.com]\ntype=endpoint\n"
    problems = st.name_conflicts(str(conf), data, no_anonymous=True)
    assert problems[0].startswith("anonymous: %s:1 defines endpoint 'anonymous@example.com' without auth and "
                                  "identify_by username,ip (the default)" % conf)
    assert "set identify_by=ip" in problems[0] and "set anonymous: true" in problems[0]
    assert st.name_conflicts(str(conf), b"[guest]\ntype=endpoint\n", no_anonymous=True) == []

# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.sip_transport against a real Asterisk 22, proven with real
clients from the outside-client namespace: sipsak OPTIONS and REGISTER (digest
auth) over UDP and TCP, openssl s_client on the TLS transport (certificate and
one handshake per TLS version), an IAX2 POKE/PONG on the IAX port. Whether
Asterisk restarted is read from its own uptime."""
import base64
import os
import re
import secrets
import subprocess
import tempfile
import time

import pytest

from conftest import CLIENTS, tls_handshake

ETC = "/etc/asterisk/"
MANAGED = ETC + "pjsip_transport_pbxguard.conf"
PJSIP = ETC + "pjsip.conf"
IAXCONF = ETC + "iax.conf"
HTTP = ETC + "http.conf"
CERT = ETC + "keys/sip.crt"
KEY = ETC + "keys/sip.key"
OTHER_KEY = ETC + "keys/other.key"
WATCHED = (MANAGED, PJSIP, IAXCONF)
NUMBER = "3101"


def run(cmd, ns=None, timeout=20):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input="")


def sip_options(lab, port, transport="udp"):
    """sipsak OPTIONS from the outside client: True when Asterisk answered
    (any SIP response carrying its Server header, e.g. 401 for an anonymous
    OPTIONS), False when nothing answered."""
    p = run(["timeout", "8", "sipsak", "-vv", "-E", transport, "-s", "sip:%s:%d" % (lab.ip, port)], lab.outside_ns)
    out = p.stdout + p.stderr
    return bool(re.search(r"^SIP/2\.0 \d{3} ", out, re.M)) and "Server: Asterisk PBX" in out


def sip_register(lab, secret, port, transport="udp"):
    """REGISTER with digest auth from the outside client, then unregister; 0 = 200 OK."""
    client = lab.vars["lab_outside_ip"]
    p = run(["timeout", "20", "sipsak", "-U", "-E", transport, "-C", "sip:%s@%s:5099" % (NUMBER, client),
             "-s", "sip:%s@%s:%d" % (NUMBER, lab.ip, port), "-a", secret, "-u", NUMBER, "-i"],
            lab.outside_ns, timeout=30)
    return p.returncode, (p.stdout + p.stderr)[-600:]


def iax_poke(lab, port):
    p = run(["python3", os.path.join(CLIENTS, "iax_poke.py"), lab.ip, str(port), "2"], lab.outside_ns)
    return p.returncode


def tls(lab, version, port=5061):
    """Negotiated version of a handshake offering only ``version``, None when refused."""
    return tls_handshake(lab.ip, port, version, lab.outside_ns)


def fingerprint_served(lab, port=5061):
    p = run(["sh", "-c", "echo | timeout 8 openssl s_client -connect %s:%d 2>/dev/null | openssl x509 -noout "
                         "-fingerprint -sha256" % (lab.ip, port)], lab.outside_ns)
    return p.stdout.strip()


def started(lab):
    """When the running Asterisk started (epoch seconds, +-1): changes on every restart."""
    out = lab.cli("core show uptime seconds")
    m = re.search(r"System uptime:\s*(\d+)", out)
    return int(time.time()) - int(m.group(1))


def no_restart_since(lab, mark):
    return abs(started(lab) - mark) <= 2


def shas(lab):
    return dict((f, lab.sha(f)) for f in WATCHED)


def task(**kw):
    params = dict(tls=dict(enabled=True, cert_file=CERT, key_file=KEY, security_level="high"))
    params.update(kw)
    return {"name": "sip transports", "pbxguard.asterisk.sip_transport": params}


def tls_params(**kw):
    d = dict(enabled=True, cert_file=CERT, key_file=KEY, security_level="high")
    d.update(kw)
    return d


@pytest.fixture(scope="module")
def cert(lab):
    d = tempfile.mkdtemp()
    for name, cn in (("c", lab.ip), ("o", "other")):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "%s/%s.key" % (d, name),
                        "-out", "%s/%s.crt" % (d, name), "-days", "30", "-subj", "/CN=%s" % cn],
                       check=True, capture_output=True)
    lab.sh("mkdir -p /etc/asterisk/keys")
    for src, dst, mode in (("c.crt", CERT, "644"), ("c.key", KEY, "640"), ("o.key", OTHER_KEY, "640")):
        lab.sh("cat > %s && chown root:asterisk %s && chmod %s %s" % (dst, dst, mode, dst),
               input=open(os.path.join(d, src)).read())
    return d


@pytest.fixture(scope="module")
def secret(lab, cert):
    s = "Sx%s_%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))
    r = lab.playbook([{"name": "one extension", "pbxguard.asterisk.extension":
                       {"extensions": [{"number": NUMBER, "secret": s}]}}])
    assert not r.failed, r.raw[-2000:]
    return s


def reset_to_debian(lab):
    """Back to the image's state (no managed transports, no include, IAX on
    4569) whatever ran before (molecule's converge applies the module first)."""
    lab.sh("rm -f %s && sed -i '/pjsip_transport_pbxguard.conf/d; /managed by pbxguard.asterisk: sip transports/d' %s"
           " && sed -i '/^bindport *= *[0-9]*$/d' %s && systemctl restart asterisk" % (MANAGED, PJSIP, IAXCONF))
    for dummy in range(60):
        if "No objects found" in lab.sh("asterisk -rx 'pjsip show transports' 2>&1", check=False):
            return
        time.sleep(0.5)
    raise AssertionError("Asterisk did not come back after the reset")


@pytest.fixture(scope="module", autouse=True)
def converged(lab, cert, secret):
    reset_to_debian(lab)
    r = lab.playbook([task()], diff=True)
    assert not r.failed, r.raw[-3000:]
    return r


# --------------------------------------------------------------- first apply
def test_first_apply_restarted_and_said_why(converged):
    last = converged.last
    assert last["changed"] and last["restarted"] is True and last["restart_needed"] is True
    assert "transport pbxguard-udp added" in last["restart_reason"]
    assert "pjsip.conf now includes pjsip_transport_pbxguard.conf" in last["restart_reason"]
    assert "transport pbxguard-tls added" in last["restart_reason"]
    assert last["live_transports"] == {"pbxguard-udp": "udp 0.0.0.0:5060", "pbxguard-tcp": "tcp 0.0.0.0:5060",
                                       "pbxguard-tls": "tls 0.0.0.0:5061"}
    assert last["summary"] == "SIP on 0.0.0.0: UDP 5060, TCP 5060, TLS 5061 (TLS 1.2 only); IAX 4569"
    diffs = last["diff"]
    assert any(d["after_header"] == MANAGED and "method=tlsv1_2" in d["after"] for d in diffs)


def test_files_owned_by_asterisk(lab):
    assert lab.sh("stat -c '%U:%G %a' " + MANAGED).strip() == "asterisk:asterisk 640"
    assert lab.read(PJSIP).endswith(b'#tryinclude "pjsip_transport_pbxguard.conf"\n')


def test_sip_udp_and_tcp_answer_and_register(lab, secret):
    assert sip_options(lab, 5060, "udp")
    assert sip_options(lab, 5060, "tcp")
    rc, out = sip_register(lab, secret, 5060, "udp")
    assert rc == 0, out
    rc, out = sip_register(lab, secret, 5060, "tcp")
    assert rc == 0, out
    rc, out = sip_register(lab, secret + "x", 5060, "udp")
    assert rc != 0 and "authorization failed" in out


def test_tls_serves_configured_certificate(lab, cert):
    want = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert + "/c.crt"]).stdout.strip()
    assert want and fingerprint_served(lab) == want


def test_tls_high_is_exactly_tls12(lab, converged):
    assert tls(lab, "tls1_2") == "TLSv1.2"
    assert tls(lab, "tls1_1") is None
    assert tls(lab, "tls1") is None
    assert tls(lab, "tls1_3") is None
    assert converged.last["tls_versions"] == {"TLSv1": "refused", "TLSv1_1": "refused",
                                              "TLSv1_2": "accepted", "TLSv1_3": "refused"}


def test_iax_answers_on_default_port(lab):
    assert iax_poke(lab, 4569) == 0


def test_second_run_changes_nothing_and_does_not_restart(lab):
    mark = started(lab)
    r = lab.playbook([task()])
    assert not r.failed and r.changed == 0, r.raw[-2000:]
    assert r.last["restarted"] is False and r.last["restart_needed"] is False
    assert no_restart_since(lab, mark)


# ------------------------------------------------------------ check mode, levels
def test_check_mode_predicts_and_changes_nothing(lab):
    before, mark = shas(lab), started(lab)
    r = lab.playbook([task(tls=tls_params(security_level="modern"), iax_port=4570)], check=True, diff=True)
    assert not r.failed and r.changed == 1, r.raw[-2000:]
    assert r.last["restart_needed"] is True and r.last["restarted"] is False
    assert "IAX port 4569 -> 4570" in r.last["restart_reason"]
    assert any("method tlsv1_2 -> sslv23" in x for x in r.last["restart_reason"])
    assert shas(lab) == before and no_restart_since(lab, mark)
    assert tls(lab, "tls1_3") is None and iax_poke(lab, 4569) == 0


def test_modern_is_tls12_and_13(lab):
    r = lab.playbook([task(tls=tls_params(security_level="modern"))])
    assert not r.failed and r.last["restarted"], r.raw[-2000:]
    assert any("method tlsv1_2 -> sslv23" in x for x in r.last["restart_reason"])
    assert tls(lab, "tls1_2") == "TLSv1.2" and tls(lab, "tls1_3") == "TLSv1.3"
    assert tls(lab, "tls1_1") is None and tls(lab, "tls1") is None


def test_low_warns_that_pjsip_cannot_express_it(lab):
    r = lab.playbook([task(tls=tls_params(security_level="low"))])
    assert not r.failed, r.raw[-2000:]
    assert any("pjsip cannot express TLS 1.0-1.2" in w for w in r.last.get("warnings", []))
    # same method as modern: no change, no restart, and what is served is measured
    assert r.changed == 0 and r.last["restarted"] is False
    assert r.last["tls_versions"]["TLSv1_1"] == "refused" and r.last["tls_versions"]["TLSv1_3"] == "accepted"
    assert tls(lab, "tls1_1") is None


# ------------------------------------------------------------------ ports
def test_move_ports_sip_and_iax(lab, secret):
    r = lab.playbook([task(udp={"port": 5070}, tcp={"port": 5072}, tls=tls_params(port=5071), iax_port=4570)])
    assert not r.failed and r.last["restarted"], r.raw[-2000:]
    reasons = r.last["restart_reason"]
    assert "IAX port 4569 -> 4570" in reasons
    assert "transport pbxguard-udp changed (bind 0.0.0.0:5060 -> 0.0.0.0:5070)" in reasons
    assert sip_options(lab, 5070, "udp") and sip_options(lab, 5072, "tcp")
    assert not sip_options(lab, 5060, "udp") and not sip_options(lab, 5060, "tcp")
    assert sip_register(lab, secret, 5070, "udp")[0] == 0
    assert sip_register(lab, secret, 5072, "tcp")[0] == 0
    assert tls(lab, "tls1_2", port=5071) == "TLSv1.2" and tls(lab, "tls1_2", port=5061) is None
    assert iax_poke(lab, 4570) == 0 and iax_poke(lab, 4569) == 2
    assert b"bindport = 4570" in lab.read(IAXCONF)
    r = lab.playbook([task()])
    assert not r.failed and r.last["restarted"], r.raw[-2000:]
    assert sip_options(lab, 5060, "udp") and iax_poke(lab, 4569) == 0 and iax_poke(lab, 4570) == 2


def test_transport_off_closes_its_port(lab):
    r = lab.playbook([task(tcp={"enabled": False}, tls={"enabled": False})])
    assert not r.failed and r.last["restarted"], r.raw[-2000:]
    assert "transport pbxguard-tcp removed" in r.last["restart_reason"]
    assert set(r.last["live_transports"]) == {"pbxguard-udp"}
    assert sip_options(lab, 5060, "udp") and not sip_options(lab, 5060, "tcp")
    assert tls(lab, "tls1_2") is None
    r = lab.playbook([task()])
    assert not r.failed and sip_options(lab, 5060, "tcp") and tls(lab, "tls1_2") == "TLSv1.2"


# --------------------------------------------------------- refused before any change
@pytest.fixture
def web_on_8088(lab):
    old = lab.read(HTTP)
    lab.sh("printf '[general]\\nenabled=yes\\nbindaddr=0.0.0.0\\nbindport=8088\\n' > %s" % HTTP)
    yield
    lab.sh("cat > %s" % HTTP, input=old.decode())


def test_port_clash_with_web_refused(lab, web_on_8088):
    before, mark = shas(lab), started(lab)
    r = lab.playbook([task(tls=tls_params(port=8088))])
    assert r.failed
    msg = r.last["msg"]
    assert "port clash on 8088/tcp" in msg and "pbxguard-tls" in msg and "http" in msg
    assert shas(lab) == before and no_restart_since(lab, mark)


BAD = [
    ({"tls": tls_params(port=8090)}, "tls.port: port 8090 is reserved"),
    ({"iax_port": 8090}, "iax_port: port 8090 is reserved"),
    ({"udp": {"port": 70000}}, "udp.port: port 70000 is out of range 1-65535"),
    ({"iax_port": 5060}, "port clash on 5060/udp"),
    ({"tls": tls_params(security_level="ultra")}, "security_level"),
    ({"bind_address": "0.0.0.0\n[evil]"}, "bind_address: is not an IP address"),
    ({"bind_address": "0.0.0.0;x"}, "bind_address: is not an IP address"),
    ({"tls": tls_params(cert_file=CERT + "\n[evil]")}, "tls.cert_file: must not contain newline"),
    ({"tls": tls_params(key_file=KEY + ";x")}, "tls.key_file: must not contain ';'"),
    ({"tls": tls_params(ca_file="/etc/[ca].pem")}, "tls.ca_file: must not contain '['"),
    ({"tls": tls_params(key_file=OTHER_KEY)}, "tls.cert_file/key_file: the key does not match"),
    ({"tls": tls_params(cert_file="/nonexistent.crt")}, "tls.cert_file: /nonexistent.crt does not exist"),
    ({"tls": tls_params(ca_file="/nonexistent.pem")}, "tls.ca_file: /nonexistent.pem does not exist"),
]


def test_bad_input_changes_nothing(lab):
    """Every row in one play (one ansible-playbook start): each task must fail
    with its message; afterwards the files are byte-identical and Asterisk
    was not restarted."""
    before, mark = shas(lab), started(lab)
    tasks = [dict(task(**params), ignore_errors=True) for params, _msg in BAD]
    r = lab.playbook(tasks)
    assert len(r.results) == len(BAD), r.raw[-1500:]
    wrong = [(msg, res.get("failed"), res.get("msg", "")[:300]) for (params, msg), res in zip(BAD, r.results)
             if not (res.get("failed") and msg in res.get("msg", ""))]
    assert not wrong, wrong
    assert shas(lab) == before and no_restart_since(lab, mark)


def test_nul_and_non_utf8_refused_naming_the_option(lab):
    """A NUL or a byte that is not UTF-8 in any option is refused before
    anything is read (the change transaction's first step; sip_transport used
    to skip it: a NUL reached the address check, a non-UTF-8 byte crashed
    AnsibleModule). The message names the option and the rule, never the
    value; the files stay byte-identical and Asterisk is not restarted."""
    before, mark = shas(lab), started(lab)
    # bytes that are not UTF-8 arrive as surrogate escapes, as from a vars file in another encoding
    not_utf8 = "{{ '%s' | b64decode }}" % base64.b64encode(CERT.encode() + b"\xff\xfe").decode()
    r = lab.playbook([dict(task(bind_address="0.0.0.0\x00"), ignore_errors=True),
                      dict(task(tls=tls_params(cert_file=not_utf8)), ignore_errors=True)])
    assert len(r.results) == 2, r.raw[-1500:]
    assert [(x.get("failed"), x.get("msg")) for x in r.results] == [
        (True, "bind_address: contains NUL; not allowed in any value"),
        (True, "tls.cert_file: contains a byte that is not UTF-8; not allowed in any value")]
    assert shas(lab) == before and no_restart_since(lab, mark)


def test_key_unreadable_by_asterisk_refused(lab):
    lab.sh("cp -p %s /root/sip.key && chown root:root %s && chmod 600 %s" % (KEY, KEY, KEY))
    try:
        before, mark = shas(lab), started(lab)
        r = lab.playbook([task(tls=tls_params(port=5062))])
        assert r.failed and "tls.key_file: %s is not readable by user/group asterisk" % KEY in r.last["msg"]
        assert shas(lab) == before and no_restart_since(lab, mark)
    finally:
        lab.sh("cp -p /root/sip.key %s" % KEY)


def test_hand_written_transport_with_our_name_refused(lab):
    """A second [pbxguard-tcp] transport would make Asterisk reject the whole pjsip.conf."""
    lab.sh("cp -p %s /root/pjsip.conf.orig && printf '\\n[pbxguard-tcp]\\ntype=transport\\nprotocol=tcp\\n"
           "bind=0.0.0.0:5090\\n' >> %s" % (PJSIP, PJSIP))
    try:
        before, mark = shas(lab), started(lab)
        r = lab.playbook([task()])
        assert r.failed and "already defines transport 'pbxguard-tcp' by hand" in r.last["msg"], r.raw[-1500:]
        assert "%s:" % PJSIP in r.last["msg"]
        assert shas(lab) == before and no_restart_since(lab, mark)
    finally:
        lab.sh("cp -p /root/pjsip.conf.orig %s" % PJSIP)


# ------------------------------------------------------- restore and drift
def test_not_taken_restores_previous_files(lab):
    """Another program holds TCP 5080 (outside Asterisk's config, so the port
    plan cannot see it): pjsip cannot bind, the module must put the previous
    files back, restart and fail saying why."""
    lab.sh("setsid python3 -c 'import socket,time; s=socket.socket(); "
           "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"0.0.0.0\", 5080)); s.listen(); "
           "time.sleep(300)' > /dev/null 2>&1 & echo $! > /root/holder.pid")
    try:
        for dummy in range(20):
            if ":5080 " in lab.sh("ss -lnt"):
                break
            time.sleep(0.2)
        before = shas(lab)
        r = lab.playbook([task(tcp={"port": 5080})])
        assert r.failed, r.raw[-2000:]
        msg = r.last["msg"]
        assert "previous files were restored" in msg and "5080" in msg, msg
        assert "Transport 'pbxguard-tcp' could not be started: Address already in use" in msg, msg
        assert shas(lab) == before
        assert sip_options(lab, 5060, "tcp") and tls(lab, "tls1_2") == "TLSv1.2"
    finally:
        lab.sh("kill $(cat /root/holder.pid)", check=False)


def test_drift_between_file_and_running_asterisk_is_a_change(lab):
    """The file is right but the running Asterisk serves something else (a
    changed file was put back without a restart): a run must notice and restart."""
    lab.sh("cp -p %s /root/managed.good && sed -i 's/0.0.0.0:5060$/0.0.0.0:5064/' %s && systemctl restart asterisk"
           " && cp -p /root/managed.good %s" % (MANAGED, MANAGED, MANAGED))
    for dummy in range(40):
        if "5064" in lab.sh("asterisk -rx 'pjsip show transports' 2>&1", check=False):
            break
        time.sleep(0.5)
    r = lab.playbook([task()], check=True)
    assert not r.failed and r.changed == 1 and r.last["restarted"] is False
    assert any("pbxguard-udp is live as udp 0.0.0.0:5064" in d for d in r.last["drift"])
    r = lab.playbook([task()])
    assert not r.failed and r.changed == 1 and r.last["restarted"] is True, r.raw[-2000:]
    assert sip_options(lab, 5060, "udp") and not sip_options(lab, 5064, "udp")
    r = lab.playbook([task()])
    assert not r.failed and r.changed == 0 and r.last["restarted"] is False


# ------------------------------------------------------- secrets in the diff
def test_hand_planted_secrets_never_in_vvv_diff(lab, monkeypatch):
    """Hand-written objects in pjsip.conf (the file this module rewrites to
    include its transports) hold secrets in the forms Asterisk reads - an
    auth's password, md5_cred, oauth_secret and refresh_token, an escaped
    ';', a commented-out old password - none of them a task value: the
    -vvv --diff output of the run that re-adds the include shows none.
    Asterisk's own view proves it took the planted objects."""
    p = {k: "Pl%s%s" % (k, secrets.token_hex(5)) for k in ("pw", "oauth", "refresh", "escA", "escB", "old")}
    p["md5"] = secrets.token_hex(16)  # Asterisk takes an md5 auth only with 32 hex digits
    plant = ("\n[handplant1]\ntype = auth\nauth_type = userpass\nusername = handplant1\nPassword = %(pw)s ; by hand\n"
             ";password = %(old)s\n"
             "\n[handplant2]\ntype=auth\nauth_type=md5\nusername=handplant2\nmd5_cred=%(md5)s\n"
             "\n[handplant3]\ntype=auth\nauth_type=google_oauth\nusername=handplant3\noauth_clientid=pbx\n"
             "oauth_secret=%(oauth)s\nrefresh_token=%(refresh)s\n"
             "\n[handplant4]\ntype=auth\nusername=handplant4\npassword=%(escA)s\\;%(escB)s\n" % p)
    lab.sh("cp -p %s /root/pjsip.conf.plant && sed -i '/pjsip_transport_pbxguard.conf/d; "
           "/managed by pbxguard.asterisk: sip transports/d' %s && cat >> %s" % (PJSIP, PJSIP, PJSIP), input=plant)
    try:
        monkeypatch.setenv("ANSIBLE_DIFF_CONTEXT", "100000")
        run = lab.playbook([task()], diff=True, verbosity=3, json_out=False)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-3000:]
        # -vvv, a diff of pjsip.conf with the hand-written sections inside it
        assert "ESTABLISH SSH CONNECTION" in out and "[handplant4]" in out and "pjsip_transport_pbxguard.conf" in out
        assert "<secret:" in out
        leaked = [k for k, v in p.items() if v in out] + (
            ["escaped"] if "%s;%s" % (p["escA"], p["escB"]) in out else [])
        assert not leaked, "hand-planted secrets in the -vvv --diff output: %s" % leaked
        for n in ("handplant1", "handplant2", "handplant3", "handplant4"):
            assert "Auth:  %s/%s" % (n, n) in lab.cli("pjsip show auth %s" % n), n
    finally:
        monkeypatch.delenv("ANSIBLE_DIFF_CONTEXT", raising=False)
        lab.sh("cp -p /root/pjsip.conf.plant %s" % PJSIP)
        lab.cli("module reload res_pjsip.so")

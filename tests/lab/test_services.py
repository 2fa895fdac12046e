# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_service, web and web_access against a real lab host, proven with real
clients from the outside namespace (ssh banner, FTP 220, TFTP read, TLS
handshakes) and from the controller (the "permitted" side)."""
import subprocess
import tempfile

import pytest

from conftest import tls_handshake

HTTP = "/etc/asterisk/http.conf"
DROPIN = "/etc/ssh/sshd_config.d/10-pbxguard.conf"
VSFTPD = "/etc/vsftpd.conf"
RULES = "/etc/nftables.d/pbxguard.nft"
CERT = "/etc/asterisk/keys/web.crt"
KEY = "/etc/asterisk/keys/web.key"
REDIRECT_UNIT = "/etc/systemd/system/pbxguard-web-redirect.service"
REDIRECT_SCRIPT = "/usr/local/lib/pbxguard/web-redirect.py"
WATCHED = (HTTP, DROPIN, VSFTPD, RULES, "/etc/nftables.conf", "/etc/asterisk/pjsip.conf",
           REDIRECT_UNIT, REDIRECT_SCRIPT)


def run(cmd, ns=None, timeout=20):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input="")


def banner(lab, port, ns=None):
    code = ("import socket,sys\ntry:\n s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3)\n"
            " print(s.recv(100).decode().strip())\nexcept Exception as e:\n print('ERR',type(e).__name__)\n")
    return run(["python3", "-c", code, lab.ip, str(port)], ns).stdout.strip()


def tls(lab, version, ns=None, port=8088):
    return tls_handshake(lab.ip, port, version, ns)


def shas(lab):
    return dict((f, lab.sha(f)) for f in WATCHED)


@pytest.fixture(scope="module")
def cert(lab):
    d = tempfile.mkdtemp()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/k", "-out", d + "/c",
                    "-days", "30", "-subj", "/CN=%s" % lab.ip], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/k2", "-out", d + "/c2",
                    "-days", "30", "-subj", "/CN=other"], check=True, capture_output=True)
    lab.sh("mkdir -p /etc/asterisk/keys")
    for src, dst, mode in (("c", CERT, "644"), ("k", KEY, "640"), ("k2", "/etc/asterisk/keys/other.key", "640")):
        lab.sh("cat > %s && chown root:asterisk %s && chmod %s %s" % (dst, dst, mode, dst), input=open(d + "/" + src).read())
    return d


@pytest.fixture(scope="module", autouse=True)
def open_start(lab):
    r = lab.playbook([access(mode="unrestricted")])
    assert not r.failed, r.raw
    yield
    lab.playbook([access(mode="unrestricted")])


def web(**kw):
    params = dict(cert_file=CERT, key_file=KEY)
    params.update(kw)
    return {"name": "web", "pbxguard.asterisk.web": params}


def svc(**kw):
    return {"name": "svc", "pbxguard.asterisk.host_service": kw}


def access(**kw):
    return {"name": "access", "pbxguard.asterisk.web_access": kw}


# ------------------------------------------------------------------ web / TLS
def test_web_https_high(lab, cert):
    r = lab.playbook([web(security_level="high")])
    assert not r.failed, r.raw
    assert r.last["summary"] == "web: https on 0.0.0.0:8088 (TLS 1.2+1.3), auto logout 15 min"
    assert tls(lab, "tls1_1", lab.outside_ns) is None
    assert tls(lab, "tls1", lab.outside_ns) is None
    assert tls(lab, "tls1_2", lab.outside_ns) == "TLSv1.2"
    assert tls(lab, "tls1_3", lab.outside_ns) == "TLSv1.3"
    assert "session_inactivity = 900000" in lab.read(HTTP).decode()
    r = lab.playbook([web(security_level="high")])
    assert not r.failed and r.changed == 0 and r.last["reloaded"] is False


def test_web_serves_configured_certificate(lab, cert):
    p = run(["sh", "-c", "echo | timeout 8 openssl s_client -connect %s:8088 2>/dev/null | openssl x509 -noout -fingerprint" % lab.ip])
    q = run(["openssl", "x509", "-noout", "-fingerprint", "-in", cert + "/c"])
    assert p.stdout and p.stdout == q.stdout


def test_web_low_then_back_to_high(lab, cert):
    r = lab.playbook([web(security_level="low")])
    assert not r.failed, r.raw
    assert tls(lab, "tls1_1", lab.outside_ns) == "TLSv1.1"
    assert tls(lab, "tls1", lab.outside_ns) == "TLSv1"
    r = lab.playbook([web(security_level="high")])
    assert not r.failed and tls(lab, "tls1_1", lab.outside_ns) is None
    assert r.last["tls_check"] == "handshake" and r.last["tls11_live"] == "refused"


def test_web_live_drift_is_a_change(lab, cert):
    """http.conf says high, the running server serves low (the file was put back
    without a reload): an unchanged file must not hide that."""
    r = lab.playbook([web(security_level="high")])
    assert not r.failed, r.raw
    lab.sh("cp -p %s /root/http.high" % HTTP)
    r = lab.playbook([web(security_level="low")])
    assert not r.failed, r.raw
    lab.sh("cp -p /root/http.high %s" % HTTP)  # the high file is back, not reloaded
    assert tls(lab, "tls1_1", lab.outside_ns) == "TLSv1.1"  # drifted
    before = shas(lab)
    r = lab.playbook([web(security_level="high")], check=True)
    assert not r.failed and r.changed == 1 and r.last["reloaded"] is False
    assert "still accepts TLS 1.1" in " ".join(r.last["drift"])
    assert shas(lab) == before and tls(lab, "tls1_1", lab.outside_ns) == "TLSv1.1"  # check mode did nothing
    r = lab.playbook([web(security_level="high")])
    assert not r.failed and r.changed == 1 and r.last["reloaded"] is True, r.raw
    assert r.last["tls11_live"] == "refused"
    assert tls(lab, "tls1_1", lab.outside_ns) is None and tls(lab, "tls1_2", lab.outside_ns) == "TLSv1.2"
    assert shas(lab) == before  # same content, only touched
    r = lab.playbook([web(security_level="high")])
    assert not r.failed and r.changed == 0 and r.last["reloaded"] is False


def test_web_check_and_diff_change_nothing(lab, cert):
    before = shas(lab)
    r = lab.playbook([web(port=8443, auto_logout=5)], check=True, diff=True)
    assert not r.failed and r.changed == 1
    assert "tlsbindaddr = 0.0.0.0:8443" in r.raw and "session_inactivity = 300000" in r.raw
    assert shas(lab) == before
    assert tls(lab, "tls1_2", lab.outside_ns) == "TLSv1.2"


def test_web_plain_http(lab, cert):
    r = lab.playbook([web(protocol="http", port=8088)])
    assert not r.failed, r.raw
    assert "Server Enabled and Bound to 0.0.0.0:8088" in lab.cli("http show status")
    p = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://%s:8088/httpstatus" % lab.ip], lab.outside_ns)
    assert p.stdout in ("200", "404"), p.stdout
    r = lab.playbook([web()])
    assert not r.failed and tls(lab, "tls1_2") == "TLSv1.2"


def head(url, ns=None):
    """(exit code, status line, Location) of a real HEAD request with curl."""
    p = run(["curl", "-sI", "-m", "5", url], ns)
    lines = p.stdout.splitlines()
    loc = [ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("location:")]
    return p.returncode, (lines[0].strip() if lines else ""), (loc[0] if loc else None)


def test_web_redirect_http(lab, cert):
    r = lab.playbook([web()])
    assert not r.failed, r.raw
    assert head("http://%s/some/path" % lab.ip)[0] == 7  # nothing on port 80 yet
    before = shas(lab)
    r = lab.playbook([web(redirect_http=True)], check=True, diff=True)
    assert not r.failed and r.changed == 1, r.raw
    assert "--https-port 8088" in r.raw and "ThreadingHTTPServer" in r.raw
    assert shas(lab) == before and head("http://%s/" % lab.ip)[0] == 7  # check mode did nothing

    r = lab.playbook([web(redirect_http=True)])
    assert not r.failed and r.changed == 1, r.raw
    assert r.last["summary"].endswith("port 80 redirects to https (301)")
    rc, status, loc = head("http://%s/some/path" % lab.ip)
    assert rc == 0 and " 301 " in status + " ", status
    assert loc == "https://%s:8088/some/path" % lab.ip
    # from the outside client too, query kept; following it lands on Asterisk's TLS server
    rc, status, loc = head("http://%s/a/b?x=1&y=2" % lab.ip, lab.outside_ns)
    assert " 301 " in status + " " and loc == "https://%s:8088/a/b?x=1&y=2" % lab.ip
    p = run(["curl", "-sk", "-L", "-m", "10", "-D", "-", "-o", "/dev/null", "-w", "%{url_effective} %{num_redirects}",
             "http://%s/httpstatus" % lab.ip])
    assert p.stdout.endswith("https://%s:8088/httpstatus 1" % lab.ip), p.stdout
    assert "Server: Asterisk" in p.stdout, p.stdout  # the second response came from Asterisk over TLS
    assert lab.sh("stat -c '%%a %%U %%G' %s %s" % (REDIRECT_SCRIPT, REDIRECT_UNIT)).split() == \
        ["644", "root", "root"] * 2
    assert lab.sh("systemctl is-enabled pbxguard-web-redirect").strip() == "enabled"
    user = lab.sh("ps -o user= -p $(systemctl show -P MainPID pbxguard-web-redirect)").strip()
    assert user and user != "root", user  # DynamicUser with only CAP_NET_BIND_SERVICE
    # started means listening: one connection right after systemctl restart
    # returns, no retry (HTTPServer's own bind waited ~10 s for getfqdn on a
    # host without a reachable nameserver, and the module's probe gave up)
    lab.sh("systemctl restart pbxguard-web-redirect && "
           "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 80), 1).close()'")
    r = lab.playbook([web(redirect_http=True)])
    assert not r.failed and r.changed == 0, r.raw

    # a stopped redirector is a change (check mode only reports it)
    lab.sh("systemctl stop pbxguard-web-redirect")
    r = lab.playbook([web(redirect_http=True)], check=True)
    assert not r.failed and r.changed == 1 and head("http://%s/" % lab.ip)[0] == 7
    r = lab.playbook([web(redirect_http=True)])
    assert not r.failed and r.changed == 1 and " 301 " in head("http://%s/" % lab.ip)[1] + " "

    # web_access "web" covers port 80 too
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert not r.failed and r.last["ports"] == [80, 8088], r.raw
    assert head("http://%s/x" % lab.ip)[2] == "https://%s:8088/x" % lab.ip
    assert head("http://%s/x" % lab.ip, lab.outside_ns)[0] == 28  # dropped: timeout
    r = lab.playbook([access(mode="unrestricted")])
    assert not r.failed

    # another https port: the unit is rewritten and restarted
    r = lab.playbook([web(port=8443, redirect_http=True)])
    assert not r.failed, r.raw
    assert head("http://%s/p" % lab.ip)[2] == "https://%s:8443/p" % lab.ip

    # off: unit and script removed, nothing on port 80
    r = lab.playbook([web(redirect_http=False)], diff=True)
    assert not r.failed and r.changed == 1, r.raw
    assert lab.read(REDIRECT_UNIT) is None and lab.read(REDIRECT_SCRIPT) is None
    assert head("http://%s/" % lab.ip)[0] == 7
    assert lab.sh("systemctl is-active pbxguard-web-redirect", check=False).strip() == "inactive"
    r = lab.playbook([web(redirect_http=False)])
    assert not r.failed and r.changed == 0


@pytest.fixture
def sip_transport_in_include(lab):
    """A hand-written PJSIP TCP transport on 5060 in an included file."""
    lab.sh("mkdir -p /etc/asterisk/pjsip.d && printf '[lab-tcp]\\ntype=transport\\nprotocol=tcp\\nbind=0.0.0.0:5060\\n' "
           "> /etc/asterisk/pjsip.d/lab.conf && cp /etc/asterisk/pjsip.conf /root/pjsip.conf.bak && "
           "echo '#tryinclude \"pjsip.d/*.conf\"' >> /etc/asterisk/pjsip.conf")
    yield
    lab.sh("cp /root/pjsip.conf.bak /etc/asterisk/pjsip.conf && rm -rf /etc/asterisk/pjsip.d")


BAD_WEB = [
    ("sip_port", dict(port=5060), "port clash on 5060/tcp"),
    ("ssh_port", dict(port=22), "port clash on 22/tcp"),
    ("reserved", dict(port=8090), "port 8090 is reserved"),
    ("out_of_range", dict(port=70000), "out of range"),
    ("bad_bind", dict(bind_address="10.0.0.300"), "bind_address: is not an IP address"),
    ("missing_key", dict(key_file="/etc/asterisk/keys/nope.key"), "does not exist"),
    ("wrong_key", dict(key_file="/etc/asterisk/keys/other.key"), "does not match"),
    ("no_cert", dict(cert_file=None), "cert_file: required"),
    ("logout_zero", dict(auto_logout=0), "auto_logout"),
    ("redirect_plain", dict(protocol="http", redirect_http=True), "redirect_http: needs"),
    ("redirect_on_80", dict(port=80, redirect_http=True), "port clash on 80/tcp"),
]


@pytest.mark.parametrize("case,params,msg", BAD_WEB, ids=[c[0] for c in BAD_WEB])
def test_web_bad_input_changes_nothing(lab, cert, sip_transport_in_include, case, params, msg):
    before = shas(lab)
    r = lab.playbook([web(**params)])
    assert r.failed and msg in r.last.get("msg", ""), r.last.get("msg")
    assert shas(lab) == before
    if case == "sip_port":
        assert "pjsip.d/lab.conf" in r.last["msg"]


# --------------------------------------------------------------- web_access
def test_access_permitted(lab, cert):
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert not r.failed, r.raw
    assert r.last["ports"] == [8088]
    assert tls(lab, "tls1_2") == "TLSv1.2"
    assert tls(lab, "tls1_2", lab.outside_ns) is None
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert r.changed == 0


def test_access_survives_reboot(lab, cert):
    """The permitted rules of test_access_permitted hold after a reboot of the
    host (labctl reboot: systemd stops and boots again over the same disk)."""
    pid1 = lab.pid1
    lab.reboot()
    assert lab.pid1 != pid1 and lab.sh("systemctl is-system-running --wait", check=False).strip() in (
        "running", "degraded")
    assert "table inet pbxguard" in lab.sh("nft list tables")
    assert lab.sh("systemctl is-enabled nftables").strip() == "enabled"
    assert tls(lab, "tls1_2") == "TLSv1.2"  # Asterisk's https came back, reachable from the permitted side
    assert tls(lab, "tls1_2", lab.outside_ns) is None  # and still dropped for the outside client
    assert banner(lab, 22, lab.outside_ns).startswith("SSH-")  # only the covered port is filtered
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert not r.failed and r.changed == 0, r.raw


def test_access_local(lab, cert):
    r = lab.playbook([access(mode="local", services=["web", "ssh"])])
    assert not r.failed, r.raw
    assert lab.ip.rsplit(".", 1)[0] + ".0/24" in r.last["allowed"]
    assert tls(lab, "tls1_2") == "TLSv1.2"
    assert tls(lab, "tls1_2", lab.outside_ns) is None
    assert banner(lab, 22).startswith("SSH-")
    assert banner(lab, 22, lab.outside_ns).startswith("ERR")


def test_access_unrestricted(lab, cert):
    r = lab.playbook([access(mode="unrestricted")])
    assert not r.failed
    assert tls(lab, "tls1_2", lab.outside_ns) == "TLSv1.2"


def test_access_lockout_and_bad_input(lab, cert):
    before = shas(lab)
    live = lab.sh("nft list table inet pbxguard")
    r = lab.playbook([access(mode="permitted", permitted=["198.19.60.0/24"])])
    assert r.failed and "controller is connected from %s" % lab.controller_ip in r.last["msg"]
    r = lab.playbook([access(mode="permitted", permitted=["198.18.60.0/33"])])
    assert r.failed and "permitted[0]" in r.last["msg"]
    r = lab.playbook([access(mode="permitted", permitted=["198.18.60.1/24"])])
    assert r.failed and "host bits set" in r.last["msg"]
    r = lab.playbook([access(mode="permitted", permitted=[])])
    assert r.failed
    assert shas(lab) == before and lab.sh("nft list table inet pbxguard") == live


def test_access_failure_after_the_write_restores_files_and_table(lab, cert):
    """A step after the write fails (nftables.service masked: `systemctl
    enable` refuses): the rules file and nftables.conf come back byte for byte
    with their mode, and the table that was live before is loaded again - the
    outside client is still dropped, the controller still served."""
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert not r.failed, r.raw
    conf = "/etc/nftables.conf"
    lab.sh("cp -p %s /root/nftables.conf.bak" % conf)
    # without its include line nftables.conf is rewritten too, so both files are in the change
    lab.sh("sed -i '/nftables.d/d;/added by pbxguard/d' %s && systemctl mask nftables.service" % conf)
    try:
        before = (lab.sha(RULES), lab.sha(conf), lab.sh("stat -c '%%a %%U %%G' %s %s" % (RULES, conf)))
        live = lab.sh("nft list table inet pbxguard")
        assert "include" not in lab.read(conf).decode()
        r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip], extra_ports=[8443])])
        assert r.failed, r.raw
        msg = r.last["msg"]
        assert "systemctl enable nftables.service failed" in msg and "masked" in msg, msg
        assert "restored: " in msg and RULES in msg and conf in msg, msg
        assert (lab.sha(RULES), lab.sha(conf), lab.sh("stat -c '%%a %%U %%G' %s %s" % (RULES, conf))) == before
        assert lab.sh("nft list table inet pbxguard") == live  # 8443 was loaded, then the old table again
        assert tls(lab, "tls1_2") == "TLSv1.2" and tls(lab, "tls1_2", lab.outside_ns) is None
    finally:
        lab.sh("systemctl unmask nftables.service && cp -p /root/nftables.conf.bak %s" % conf)
    r = lab.playbook([access(mode="permitted", permitted=["%s/32" % lab.controller_ip])])
    assert not r.failed and r.changed == 0, r.raw
    assert lab.sh("systemctl is-enabled nftables").strip() == "enabled"


# ------------------------------------------------------------ host services
def test_ftp_toggle(lab):
    r = lab.playbook([svc(service="ftp", state="enabled")])
    assert not r.failed, r.raw
    assert "anonymous_enable=NO" in lab.read(VSFTPD).decode()
    assert banner(lab, 21, lab.outside_ns).startswith("220")
    r = lab.playbook([svc(service="ftp", state="disabled")])
    assert not r.failed and r.changed
    assert banner(lab, 21, lab.outside_ns).startswith("ERR")
    r = lab.playbook([svc(service="ftp", state="disabled")])
    assert r.changed == 0
    r = lab.playbook([svc(service="ftp", state="enabled")])
    assert not r.failed and banner(lab, 21, lab.outside_ns).startswith("220")


def test_tftp_toggle_and_root(lab):
    lab.sh("mkdir -p /srv/tftp && echo hello-tftp > /srv/tftp/t.txt && chmod -R a+rX /srv/tftp")
    r = lab.playbook([svc(service="tftp", root_dir="/srv/tftp")])
    assert not r.failed, r.raw
    p = run(["curl", "-s", "-m", "5", "tftp://%s/t.txt" % lab.ip], lab.outside_ns)
    assert p.returncode == 0 and p.stdout.strip() == "hello-tftp"
    r = lab.playbook([svc(service="tftp", root_dir="/srv/tftp")])
    assert r.changed == 0
    r = lab.playbook([svc(service="tftp", state="disabled")])
    assert not r.failed
    p = run(["curl", "-s", "-m", "5", "tftp://%s/t.txt" % lab.ip], lab.outside_ns)
    assert p.returncode == 28, p.returncode
    r = lab.playbook([svc(service="tftp", root_dir="/srv/tftp")])
    assert not r.failed
    assert run(["curl", "-s", "-m", "5", "tftp://%s/nope" % lab.ip], lab.outside_ns).returncode == 68


def test_ssh_disable_refused_before_any_change(lab):
    before = shas(lab)
    r = lab.playbook([svc(service="ssh", state="disabled")])
    assert r.failed and "lock it out" in r.last["msg"]
    assert shas(lab) == before
    assert lab.sh("systemctl is-active ssh").strip() == "active"


def test_ssh_port_clash_and_reserved(lab):
    before = shas(lab)
    for port, msg in ((21, "port clash on 21/tcp"), (8088, "port clash on 8088/tcp"), (8090, "reserved")):
        r = lab.playbook([svc(service="ssh", port=port)])
        assert r.failed and msg in r.last["msg"], r.last.get("msg")
    assert shas(lab) == before


def test_ssh_port_move_two_steps(lab):
    tasks = [
        dict(svc(service="ssh", port=8022), register="first"),
        {"name": "new port", "ansible.builtin.set_fact": {"ansible_port": 8022}},
        {"name": "reconnect", "ansible.builtin.meta": "reset_connection"},
        svc(service="ssh", port=8022),
        {"name": "where", "ansible.builtin.command": "sh -c 'echo $SSH_CONNECTION'"},
    ]
    r = lab.playbook(tasks)
    assert not r.failed, r.raw
    first = r.results[0]
    assert first["ssh_transition"] == "pending" and first["ports"] == [22, 8022]
    second = r.results[3]
    assert second["ssh_transition"] == "done" and second["ports"] == [8022]
    assert r.results[4]["stdout"].split()[3] == "8022"  # the play finished on the new port
    assert banner(lab, 8022, lab.outside_ns).startswith("SSH-")
    assert banner(lab, 22, lab.outside_ns).startswith("ERR")
    # idempotent on the new port
    r = lab.playbook([svc(service="ssh", port=8022)], extra_args=["-e", "ansible_port=8022"])
    assert not r.failed and r.changed == 0
    # and back to 22 the same way, so the lab inventory works again
    tasks[0] = svc(service="ssh", port=22)
    tasks[1] = {"name": "old port", "ansible.builtin.set_fact": {"ansible_port": 22}}
    tasks[3] = svc(service="ssh", port=22)
    r = lab.playbook(tasks, play_vars={"ansible_port": 8022})  # set_fact overrides play vars
    assert not r.failed, r.raw
    assert r.results[0]["ssh_transition"] == "pending" and r.results[3]["ssh_transition"] == "done"
    assert banner(lab, 22).startswith("SSH-") and banner(lab, 8022).startswith("ERR")


def test_ssh_check_mode_changes_nothing(lab):
    before = shas(lab)
    r = lab.playbook([svc(service="ssh", port=8022)], check=True, diff=True)
    assert not r.failed and r.changed == 1 and "Port 8022" in r.raw
    assert shas(lab) == before


def test_services_list_in_one_run(lab):
    """services: FTP, TFTP and SSH in one module run (what the baseline role
    does): one port plan for all of them, each applied and proven as alone,
    a rerun changes nothing, a clash between two entries changes nothing."""
    lab.sh("mkdir -p /srv/tftp && echo hello-tftp > /srv/tftp/t.txt && chmod -R a+rX /srv/tftp")
    on = [dict(service="ftp", state="enabled", port=2121), dict(service="tftp", root_dir="/srv/tftp"),
          dict(service="ssh")]
    r = lab.playbook([svc(services=on)])
    assert not r.failed, r.raw
    assert [e["service"] for e in r.last["services"]] == ["ftp", "tftp", "ssh"]
    assert r.last["services"][0]["ports"] == [2121] and r.last["ssh_transition"] is None
    assert banner(lab, 2121, lab.outside_ns).startswith("220")
    p = run(["curl", "-s", "-m", "5", "tftp://%s/t.txt" % lab.ip], lab.outside_ns)
    assert p.returncode == 0 and p.stdout.strip() == "hello-tftp"
    r = lab.playbook([svc(services=on)])
    assert not r.failed and r.changed == 0 and not any(e["changed"] for e in r.last["services"])
    # FTP asked onto SSH's port in the same run as SSH: refused, nothing changed
    before = shas(lab)
    r = lab.playbook([svc(services=[dict(service="ftp", state="enabled", port=22), dict(service="ssh")])])
    assert r.failed and "port clash on 22/tcp" in r.last["msg"], r.last.get("msg")
    assert shas(lab) == before and banner(lab, 2121, lab.outside_ns).startswith("220")
    # an entry's bad option is named with its index
    r = lab.playbook([svc(services=[dict(service="ftp", state="disabled"), dict(service="tftp", port=70)])])
    assert r.failed and "services[1].port" in r.last["msg"]
    # the baseline's default: FTP and TFTP off, SSH kept - and again without change
    off = [dict(service="ftp", state="disabled"), dict(service="tftp", state="disabled"), dict(service="ssh")]
    r = lab.playbook([svc(services=off, min_asterisk_version=20)])
    assert not r.failed and r.changed and r.last["asterisk_version"].startswith("22.")
    assert banner(lab, 2121, lab.outside_ns).startswith("ERR")
    assert run(["curl", "-s", "-m", "5", "tftp://%s/t.txt" % lab.ip], lab.outside_ns).returncode == 28
    r = lab.playbook([svc(services=off, min_asterisk_version=99)])
    assert r.failed and "min_asterisk_version: Asterisk 22." in r.last["msg"] and "at least 99" in r.last["msg"]
    r = lab.playbook([svc(services=off)])
    assert not r.failed and r.changed == 0
    # back to the port the other tests expect
    r = lab.playbook([svc(service="ftp", state="disabled", port=21)])
    assert not r.failed

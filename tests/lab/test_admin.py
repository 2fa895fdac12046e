# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.admin against a real lab host: SSH logins with a real
client (paramiko) from the controller and from the outside namespace, the
/etc/shadow hash, ARI over HTTP with curl, key revocation, bad inputs."""
import os
import secrets
import subprocess
import sys

import pytest

from conftest import CLIENTS

USER = "pbxadmin"
SHADOW = "/etc/shadow"
ARI = "/etc/asterisk/ari.conf"
HTTP = "/etc/asterisk/http.conf"
DROPIN = "/etc/ssh/sshd_config.d/pbxguard-admin-%s.conf" % USER
KEYS = "/home/%s/.ssh/authorized_keys" % USER
WATCHED = (SHADOW, ARI, HTTP, DROPIN, KEYS)


def strong():
    return "Adm%s-%s7" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


@pytest.fixture(scope="module")
def pw():
    return {"main": strong(), "other": strong()}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("laptop", "phone"):
        path = str(d / name)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path], check=True)
        with open(path + ".pub") as f:
            pub = f.read().strip()
        fp = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], capture_output=True, text=True,
                            check=True).stdout.split()[1]
        out[name] = {"path": path, "pub": pub, "fp": fp}
    return out


def net(lab):
    return lab.controller_ip.rsplit(".", 1)[0] + ".0/24"


def admin(lab, password, **kw):
    params = dict(username=USER, password=password, allowed_networks=[net(lab)],
                  emails="ops@example.org;noc@example.org", api_access=True, api_bind_address="0.0.0.0")
    params.update(kw)
    return {"name": "admin", "pbxguard.asterisk.admin": params}


def ssh(lab, mode, password="", code="", key=None, ns=None):
    cmd = [sys.executable, os.path.join(CLIENTS, "ssh_login.py"), lab.ip, USER, mode] + ([key] if key else [])
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, input="%s\n%s\n" % (password, code), text=True, capture_output=True, timeout=60, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


def ari(lab, user, password, ns=None):
    """HTTP status of ARI's /asterisk/info over https (certificate checked
    against the lab's self-signed one), Basic auth from stdin (not argv)."""
    cmd = ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", WEB_CERT["path"], "-K", "-",
           "https://%s:8088/ari/asterisk/info" % lab.ip]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, input='user = "%s:%s"\n' % (user, password), text=True, capture_output=True, timeout=30, check=False)
    return p.stdout.strip()


def shadow_hash(lab):
    for line in lab.read(SHADOW).decode().splitlines():
        if line.startswith(USER + ":"):
            return line.split(":")[1]
    return None


WEB_CERT = {}


@pytest.fixture(scope="module")
def https(lab, tmp_path_factory):
    """Asterisk's web server on https:8088 (pbxguard.asterisk.web) with a
    self-signed certificate for the lab address: ARI is reached over TLS."""
    d = str(tmp_path_factory.mktemp("webcert"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/k", "-out", d + "/c",
                    "-days", "30", "-subj", "/CN=%s" % lab.ip, "-addext", "subjectAltName=IP:%s" % lab.ip],
                   check=True, capture_output=True)
    WEB_CERT["path"] = d + "/c"
    lab.sh("mkdir -p /etc/asterisk/keys")
    for src, dst, mode in (("c", "/etc/asterisk/keys/admin-web.crt", "0644"), ("k", "/etc/asterisk/keys/admin-web.key", "0640")):
        lab.sh("cat > %s && chown root:asterisk %s && chmod %s %s" % (dst, dst, mode, dst), input=open(d + "/" + src).read())
    r = lab.playbook([{"name": "web", "pbxguard.asterisk.web": {
        "protocol": "https", "port": 8088, "cert_file": "/etc/asterisk/keys/admin-web.crt",
        "key_file": "/etc/asterisk/keys/admin-web.key"}}])
    assert not r.failed, r.raw
    return d


@pytest.fixture(scope="module", autouse=True)
def converged(lab, pw, keys, https):
    lab.sh("test -e /home/%s/.google_authenticator && rm -f /home/%s/.google_authenticator "
           "/etc/ssh/sshd_config.d/pbxguard-totp-%s.conf && systemctl reload ssh || true" % (USER, USER, USER))
    both = {"present": [keys["laptop"]["pub"], keys["phone"]["pub"]], "exclusive": True}
    r = lab.playbook([admin(lab, pw["main"], ssh_keys=both)])
    assert not r.failed, r.raw
    return r


def test_rerun_changes_nothing_and_keeps_the_hash(lab, pw, keys):
    before = shadow_hash(lab)
    shas = [lab.sha(p) for p in WATCHED]
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": [keys["laptop"]["pub"], keys["phone"]["pub"]]})])
    assert not r.failed and r.changed == 0, r.raw
    assert r.last["password_changed"] is False and r.last["sshd_reloaded"] is False
    assert shadow_hash(lab) == before
    assert [lab.sha(p) for p in WATCHED] == shas


def test_shadow_holds_a_sha512_crypt_hash_that_verifies(lab, pw):
    from passlib.hash import sha512_crypt
    h = shadow_hash(lab)
    assert h.startswith("$6$")
    assert sha512_crypt.verify(pw["main"], h)
    assert not sha512_crypt.verify(pw["other"], h)
    assert pw["main"] not in lab.read(SHADOW).decode() and pw["main"] not in lab.read(ARI).decode()


def test_ssh_password_login_from_allowed_network(lab, pw):
    rc, out = ssh(lab, "password", pw["main"])
    assert rc == 0 and out == "OK " + USER, out


def test_ssh_password_login_from_outside_refused(lab, pw):
    rc, out = ssh(lab, "password", pw["main"], ns=lab.outside_ns)
    assert rc == 1 and "Authentication failed" in out, out


def test_root_key_login_unaffected(lab):
    p = subprocess.run(["ssh", "-i", lab.vars["ansible_ssh_private_key_file"], "-o", "BatchMode=yes",
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                        "root@" + lab.ip, "id -un"], capture_output=True, text=True, timeout=30, check=False)
    assert p.stdout.strip() == "root", p.stderr


def test_ari_basic_auth(lab, pw):
    assert ari(lab, USER, pw["main"]) == "200"
    assert ari(lab, USER, pw["other"]) == "401"
    assert ari(lab, USER, pw["main"], ns=lab.outside_ns) in ("401", "403")  # the user's own ACL
    assert USER in lab.cli("ari show users")
    conf = lab.read(ARI).decode()
    assert "password_format = crypt" in conf and "password = $6$" in conf


def test_api_access_false_removes_the_ari_user(lab, pw):
    r = lab.playbook([admin(lab, pw["main"], api_access=False)])
    assert not r.failed and r.last["ari_user"] == "removed" and r.last["asterisk_reloaded"]
    assert USER not in lab.cli("ari show users")
    assert "[%s]" % USER not in lab.read(ARI).decode()
    assert ari(lab, USER, pw["main"]) == "401"
    r = lab.playbook([admin(lab, pw["main"])])
    assert not r.failed and r.last["ari_user"] == "added"
    assert ari(lab, USER, pw["main"]) == "200"


def test_keys_listed_with_fingerprints(lab, pw, keys, converged):
    listed = {k["comment"]: k for k in converged.last["ssh_keys"]}
    for name in ("laptop", "phone"):
        assert listed[name]["type"] == "ssh-ed25519"
        assert listed[name]["fingerprint"] == keys[name]["fp"]
    assert ssh(lab, "key", key=keys["phone"]["path"])[0] == 0


def test_exclusive_revokes_an_unlisted_key(lab, pw, keys):
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": [keys["laptop"]["pub"]], "exclusive": True})])
    assert not r.failed
    assert r.last["ssh_keys_removed"] == [keys["phone"]["fp"]]
    assert [k["fingerprint"] for k in r.last["ssh_keys"]] == [keys["laptop"]["fp"]]
    rc, out = ssh(lab, "key", key=keys["phone"]["path"])
    assert rc == 1, out
    assert ssh(lab, "key", key=keys["laptop"]["path"])[0] == 0
    assert lab.sh("stat -c '%U %a' " + KEYS).strip() == USER + " 600"
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": [keys["phone"]["pub"]]})])
    assert r.last["ssh_keys_added"] == [keys["phone"]["fp"]]


def test_exclusive_revokes_a_key_planted_behind_options(lab, pw, keys):
    """sshd skips the options field (quotes may hold blanks) and takes the key after it: a
    key lookalike inside a quoted option must not hide the real key from `exclusive`."""
    planted = 'command="echo %s",no-pty %s' % (keys["laptop"]["pub"], keys["phone"]["pub"])
    lab.sh("printf '%%s\\n' '%s' '%s' > %s" % (keys["laptop"]["pub"], planted, KEYS))
    rc, out = ssh(lab, "key", key=keys["phone"]["path"])
    assert rc == 0, "sshd did not take the planted key, the test proves nothing: " + out
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": [keys["laptop"]["pub"]], "exclusive": True})])
    assert not r.failed, r.raw
    assert r.last["ssh_keys_removed"] == [keys["phone"]["fp"]]
    rc, out = ssh(lab, "key", key=keys["phone"]["path"])
    assert rc == 1, out
    assert ssh(lab, "key", key=keys["laptop"]["path"])[0] == 0
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": [keys["phone"]["pub"]]})])
    assert not r.failed, r.raw


def test_password_change_and_on_create(lab, pw):
    r = lab.playbook([admin(lab, pw["other"], password_update="on_create")])
    assert not r.failed and r.changed == 0 and r.last["password_changed"] is False
    r = lab.playbook([admin(lab, pw["other"])])
    assert not r.failed and r.last["password_changed"] is True
    assert ssh(lab, "password", pw["other"])[0] == 0
    assert ssh(lab, "password", pw["main"])[0] == 1
    assert ari(lab, USER, pw["other"]) == "200" and ari(lab, USER, pw["main"]) == "401"
    r = lab.playbook([admin(lab, pw["main"])])
    assert r.last["password_changed"] is True


def test_check_mode_predicts_and_writes_nothing(lab, pw):
    shas = [lab.sha(p) for p in WATCHED]
    r = lab.playbook([admin(lab, pw["other"], allowed_networks=[net(lab), "203.0.113.7/255.255.255.255"])],
                     check=True, diff=True)
    assert not r.failed and r.changed == 1
    assert r.last["password_changed"] is True and r.last["allowed_networks"][1] == "203.0.113.7/32"
    account = [d for d in r.last["diff"] if d["before_header"] == "admin " + USER]
    assert "(new hash)" in account[0]["after"], r.last["diff"]
    assert [lab.sha(p) for p in WATCHED] == shas


def test_lockout_guard(lab, pw):
    shas = [lab.sha(p) for p in WATCHED]
    r = lab.playbook([admin(lab, pw["main"], allowed_networks=["203.0.113.0/24"])])
    assert r.failed
    assert "allowed_networks: would exclude the controller's own address %s" % lab.controller_ip in r.last["msg"]
    assert [lab.sha(p) for p in WATCHED] == shas


PROFILE = "/etc/pbxguard/admin/%s.json" % USER
REFUSED = "/etc/ssh/sshd_config.d/00-pbxguard-test-refused.conf"


def test_sshd_refusal_restores_every_file_and_the_password(lab, pw, keys):
    """A drop-in sshd refuses (not ours, placed here) makes `sshd -t` fail after
    the profile, authorized_keys, the drop-in and ari.conf were written and the
    new hash set: every file comes back byte for byte with owner and mode, the
    old hash is set back, and the old password still logs in (SSH and ARI)."""
    watched = (ARI, HTTP, DROPIN, KEYS, PROFILE)

    def state():
        return dict((p, (lab.read(p), lab.sh("stat -c '%U:%G %a' " + p).strip())) for p in watched)
    before, old_hash = state(), shadow_hash(lab)
    lab.sh("printf 'PbxguardNoSuchOption yes\\n' > " + REFUSED)
    try:
        r = lab.playbook([admin(lab, pw["other"], allowed_networks=[net(lab), "203.0.113.7/32"],
                                emails="noc@example.org", ssh_keys={"present": [keys["laptop"]["pub"]], "exclusive": True})])
        assert r.failed, r.raw
        msg = r.last["msg"]
        assert msg.startswith("sshd -t refused the new configuration; the previous files were restored"), msg
        assert "PbxguardNoSuchOption" in msg
        after = state()
        for p in watched:
            assert after[p] == before[p], p
        assert shadow_hash(lab) == old_hash
        assert pw["other"] not in r.raw and old_hash not in r.raw
    finally:
        lab.sh("rm -f " + REFUSED)
    assert ssh(lab, "password", pw["main"])[0] == 0
    assert ssh(lab, "key", key=keys["phone"]["path"])[0] == 0  # the key the failed run would have revoked
    assert ari(lab, USER, pw["main"]) == "200"
    r = lab.playbook([admin(lab, pw["main"])])
    assert not r.failed and r.changed == 0, r.raw


BAD = [
    ("at-in-username", {"username": "pbx@admin"}, ["username", "'@'"]),
    ("weak-password", {"password": "qwertyuiop"}, ["password:", "upper", "digit", "special"]),
    ("newline-password", {"password": "Abcdef1%\nroot::0:0"}, ["password:", "newline"]),
    ("bad-network", {"allowed_networks": ["198.18.0.0/33"]}, ["allowed_networks[0]"]),
    ("host-bits", {"allowed_networks": ["198.18.50.1/24"]}, ["allowed_networks[0]", "host bits"]),
    ("malformed-email", {"emails": "ops@example.org;not-an-email"}, ["emails[0]", "e-mail"]),
    ("bad-key", {"ssh_keys": {"present": ["ssh-ed25519 AAAAnotbase64!! x"]}}, ["ssh_keys.present[0]"]),
    ("root", {"username": "root"}, ["username", "reserved"]),
    ("internal-hash", {"password_hash": "$6$x$y"}, ["password_hash", "internal"]),
]


@pytest.mark.parametrize("params,expected", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_refused_and_nothing_changes(lab, pw, params, expected):
    shas = [lab.sha(p) for p in WATCHED]
    password = params.pop("password", pw["main"])
    r = lab.playbook([admin(lab, password, **params)])
    assert r.failed
    msg = r.last.get("msg", "")
    for fragment in expected:
        assert fragment in msg, "%r not in %r" % (fragment, msg)
    assert [lab.sha(p) for p in WATCHED] == shas
    assert pw["main"] not in r.raw and password not in r.raw


def login(lab, user, password):
    """A real SSH password login (paramiko): (exit code, output)."""
    p = subprocess.run([sys.executable, os.path.join(CLIENTS, "ssh_login.py"), lab.ip, user, "password"],
                       input="%s\n\n" % password, text=True, capture_output=True, timeout=60, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_system_account_is_never_taken_over(lab, pw):
    """daemon (uid 1) exists on every Debian host: refused before anything
    changes, and sshd still refuses the password for it."""
    watched = ("/etc/passwd", SHADOW, "/etc/group", ARI, HTTP, "/etc/pbxguard/admin/daemon.json",
               "/etc/ssh/sshd_config.d/pbxguard-admin-daemon.conf", "/usr/sbin/.ssh/authorized_keys")
    shas = [lab.sha(p) for p in watched]
    r = lab.playbook([admin(lab, pw["other"], username="daemon")])
    assert r.failed
    assert r.last["msg"].startswith("adopt_existing: 'daemon' is an existing system account (uid 1, "
                                    "outside UID_MIN 1000"), r.last["msg"]
    assert [lab.sha(p) for p in watched] == shas
    rc, out = login(lab, "daemon", pw["other"])
    assert rc != 0 and out.startswith("FAIL"), out


def test_foreign_account_needs_adopt_existing(lab, pw):
    """An account made by hand (useradd, GECOS 'Bob Smith') is refused with
    files byte-identical; adopt_existing: true takes it over (a real SSH login
    with the new password then works) and marks it, so later runs need no flag."""
    user = "pbxbob"
    lab.sh("id %s >/dev/null 2>&1 || useradd -m -s /bin/bash -c 'Bob Smith' %s" % (user, user))
    params = dict(username=user, allowed_networks=[], api_access=False, emails=[])
    watched = ("/etc/passwd", SHADOW, "/etc/group", ARI, HTTP, "/etc/pbxguard/admin/%s.json" % user,
               "/home/%s/.ssh/authorized_keys" % user)
    try:
        shas = [lab.sha(p) for p in watched]
        r = lab.playbook([admin(lab, pw["other"], **params)])
        assert r.failed
        assert r.last["msg"].startswith("adopt_existing: the account '%s' (uid " % user), r.last["msg"]
        assert "was not created by this module" in r.last["msg"]
        assert [lab.sha(p) for p in watched] == shas
        assert login(lab, user, pw["other"])[0] != 0

        r = lab.playbook([admin(lab, pw["other"], adopt_existing=True, **params)])
        assert not r.failed, r.raw
        assert r.last["user_created"] is False and r.last["password_changed"] is True
        rc, out = login(lab, user, pw["other"])
        assert rc == 0 and out == "OK %s" % user, out
        r = lab.playbook([admin(lab, pw["other"], **params)])
        assert not r.failed and r.changed == 0, r.raw
    finally:
        lab.sh("userdel -r %s >/dev/null 2>&1; rm -f /etc/pbxguard/admin/%s.json" % (user, user), check=False)


def test_vvv_output_contains_no_password_or_hash(lab, pw):
    p = lab.playbook([admin(lab, pw["other"])], diff=True, verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "ESTABLISH SSH CONNECTION" in out and "password_changed" in out
    h = shadow_hash(lab)
    for secret in (pw["main"], pw["other"], h, h.split("$")[-1]):
        assert secret not in out
    p = lab.playbook([admin(lab, pw["main"])], diff=True, verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    for secret in (pw["main"], pw["other"], h, shadow_hash(lab), shadow_hash(lab).split("$")[-1]):
        assert secret not in out


def test_hand_planted_ari_secrets_never_in_vvv_diff(lab, pw, monkeypatch):
    """A hand-written ARI user in ari.conf (the file this module rewrites)
    with a plain password - an upper-case key, an escaped ';', an old one
    commented out - none of them a task value: the -vvv --diff output of a
    run that rewrites ari.conf (a password change) shows none of them. A
    real ARI login proves Asterisk takes the planted password."""
    p = {k: "Pl%s%s" % (k, secrets.token_hex(5)) for k in ("plain", "old", "escA", "escB")}
    plant = ("\n[handari1]\ntype = user\nread_only = yes\npassword_format = plain\nPASSWORD = %(plain)s ; by hand\n"
             ";password = %(old)s\n"
             "\n[handari2]\ntype=user\nread_only=yes\npassword=%(escA)s\\;%(escB)s\n" % p)
    lab.sh("cp -p %s /root/ari.conf.plant && cat >> %s" % (ARI, ARI), input=plant)
    try:
        lab.cli("module reload res_ari.so")
        monkeypatch.setenv("ANSIBLE_DIFF_CONTEXT", "100000")
        run = lab.playbook([admin(lab, pw["other"])], diff=True, verbosity=3, json_out=False)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-3000:]
        assert "ESTABLISH SSH CONNECTION" in out and "[handari2]" in out and "<secret:" in out
        leaked = [k for k, v in p.items() if v in out] + (
            ["escaped"] if "%s;%s" % (p["escA"], p["escB"]) in out else [])
        assert not leaked, "hand-planted secrets in the -vvv --diff output: %s" % leaked
        assert ari(lab, "handari1", p["plain"]) == "200"
        assert ari(lab, "handari2", "%s;%s" % (p["escA"], p["escB"])) == "200"
    finally:
        monkeypatch.delenv("ANSIBLE_DIFF_CONTEXT", raising=False)
        lab.sh("cp -p /root/ari.conf.plant %s" % ARI)
        lab.cli("module reload res_ari.so")
        r = lab.playbook([admin(lab, pw["main"])])
        assert not r.failed, r.raw[-2000:]


def test_key_values_are_taken_only_as_sshd_reads_them(lab, pw, keys, tmp_path):
    """A key value is written as given, so it is accepted only when sshd's
    reading of that line is exactly its key: a tab and a two-word comment
    are fine (the real sshd lets the key log in); a second key behind a
    U+2028, blanks in front, key options in front, or a no-break space
    between the fields (sshd splits at blanks and tabs only) are refused
    naming the option and the rule, every file byte-identical, and the key
    inside the bad value cannot log in."""
    path = str(tmp_path / "desk")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "desk", "-f", path], check=True)
    with open(path + ".pub") as f:
        ktype, blob, _comment = f.read().split()
    listed = [keys["laptop"]["pub"], keys["phone"]["pub"]]
    bad = [
        ("%s\u2028%s %s desk" % (keys["laptop"]["pub"], ktype, blob), "must be one line (contains U+2028"),
        (" %s %s desk" % (ktype, blob), "starts with a blank"),
        ('command="/bin/sh" %s %s desk' % (ktype, blob), "starts with key options"),
        ("%s\u00a0%s desk" % (ktype, blob), "is not a public key line"),
        ("%s %s\u00a0desk" % (ktype, blob), "not valid base64"),
    ]
    for i, value_rule in enumerate(bad):
        value, rule = value_rule
        shas = [lab.sha(p) for p in WATCHED]
        r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": listed + [value], "exclusive": True})])
        assert r.failed, value
        msg = r.last.get("msg", "")
        assert "ssh_keys.present[2]: " in msg and rule in msg, (value, msg)
        assert [lab.sha(p) for p in WATCHED] == shas, value
        # one real refused login is proof enough: sshd's PerSourcePenalties (OpenSSH
        # 9.8+, on by default) block the controller's address for a while after a few
        # failed authentications, and the good key's login below would then get no banner
        if i == 0:
            assert ssh(lab, "key", key=path)[0] != 0, value
    good = "%s\t%s desk key" % (ktype, blob)
    r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": listed + [good], "exclusive": True})])
    try:
        assert not r.failed, r.raw[-2000:]
        assert (good + "\n").encode() in lab.read(KEYS)
        rc, out = ssh(lab, "key", key=path)
        assert rc == 0, out
    finally:
        r = lab.playbook([admin(lab, pw["main"], ssh_keys={"present": listed, "exclusive": True})])
        assert not r.failed, r.raw[-2000:]
    assert ssh(lab, "key", key=path)[0] != 0

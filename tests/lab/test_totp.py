# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.totp against a real lab host: keyboard-interactive SSH
logins (paramiko) with password + a pyotp code, stale/reused/missing codes,
the QR code, verify_code, per-user disable, and no secret in -vvv output.
pam_google_authenticator allows 3 logins per 30 s (RATE_LIMIT 3 30) and each
code once (DISALLOW_REUSE): the tests wait for a fresh 30 s step."""
import os
import secrets
import subprocess
import sys
import time

import pyotp
import pytest

from ansible_log import module_runs
from conftest import CLIENTS

USER = "pbxadmin"
GA = "/home/%s/.google_authenticator" % USER
PAM = "/etc/pam.d/sshd"
DROPIN = "/etc/ssh/sshd_config.d/pbxguard-totp-%s.conf" % USER
WATCHED = (GA, PAM, DROPIN)


@pytest.fixture(scope="module")
def pw():
    return "Tot%s-%s3" % (secrets.token_hex(4).upper(), secrets.token_hex(4))


@pytest.fixture(scope="module")
def qr(tmp_path_factory):
    return str(tmp_path_factory.mktemp("creds") / "pbx1-pbxadmin.png")


def totp(**kw):
    params = dict(user=USER, issuer="PBX lab", methods="password")
    params.update(kw)
    return {"name": "totp", "pbxguard.asterisk.totp": params}


def admin(lab, pw):
    return {"name": "admin", "pbxguard.asterisk.admin": dict(
        username=USER, password=pw, allowed_networks=[lab.controller_ip.rsplit(".", 1)[0] + ".0/24"])}


def ssh(lab, mode, password="", code="", user=USER):
    cmd = [sys.executable, os.path.join(CLIENTS, "ssh_login.py"), lab.ip, user, mode]
    p = subprocess.run(cmd, input="%s\n%s\n" % (password, code), text=True, capture_output=True, timeout=60, check=False)
    return p.returncode, (p.stdout + p.stderr).strip()


def enrolled_secret(lab):
    data = lab.read(GA)
    return data.decode().splitlines()[0] if data else None


def fresh_step():
    """Sleep into a new 30 s step (a code nobody used yet, a new rate-limit window)."""
    time.sleep(30 - time.time() % 30 + 1)


@pytest.fixture(scope="module", autouse=True)
def enrolled(lab, pw, qr):
    r = lab.playbook([admin(lab, pw), totp(state="disabled")])
    assert not r.failed, r.raw
    r = lab.playbook([totp(qr_path=qr)])
    assert not r.failed, r.raw
    return r


def test_new_secret_is_censored_in_output_but_kept_on_the_host(lab, enrolled, qr):
    res = enrolled.last
    secret = enrolled_secret(lab)
    assert secret and len(secret) == 32
    assert "censored" in res and secret not in enrolled.raw
    assert lab.sh("stat -c '%U %a' " + GA).strip() == USER + " 400"
    text = lab.read(GA).decode()
    for opt in ('" RATE_LIMIT 3 30', '" WINDOW_SIZE 3', '" DISALLOW_REUSE', '" TOTP_AUTH'):
        assert opt in text
    assert "auth required pam_google_authenticator.so nullok" in lab.read(PAM).decode()
    assert oct(os.stat(qr).st_mode & 0o777) == "0o600"


def test_qr_png_encodes_the_otpauth_uri(lab, qr):
    secret = enrolled_secret(lab)
    uri = pyotp.TOTP(secret).provisioning_uri(name=USER, issuer_name="PBX lab")
    assert "secret=%s" % secret in uri and uri.startswith("otpauth://totp/")
    # a real, independent QR reader (zxing-cpp, pinned in requirements.txt)
    p = subprocess.run([sys.executable, os.path.join(CLIENTS, "qr_decode.py"), qr], capture_output=True,
                       text=True, timeout=60, check=False)
    assert p.stdout.strip() == uri, p.stderr


def test_login_with_password_and_code_then_reuse_refused(lab, pw):
    secret = enrolled_secret(lab)
    fresh_step()
    code = pyotp.TOTP(secret).now()
    rc, out = ssh(lab, "kbd", pw, code)
    assert rc == 0 and out == "OK " + USER, out
    rc, out = ssh(lab, "kbd", pw, code)
    assert rc == 1, "a reused code was accepted: " + out


def test_without_code_stale_code_or_password_only_refused(lab, pw):
    secret = enrolled_secret(lab)
    fresh_step()
    assert ssh(lab, "kbd", pw, "")[0] == 1
    stale = pyotp.TOTP(secret).at(time.time() - 600)
    assert ssh(lab, "kbd", pw, stale)[0] == 1
    rc, out = ssh(lab, "password", pw)
    assert rc == 1 and "keyboard-interactive" in out, out


def test_rerun_keeps_the_secret_and_changes_nothing(lab, qr):
    secret = enrolled_secret(lab)
    r = lab.playbook([totp(qr_path=qr)])
    assert not r.failed and r.changed == 0, r.raw
    assert r.last["new_secret"] is False and "secret" not in r.last and "otpauth_uri" not in r.last
    assert enrolled_secret(lab) == secret


REFUSED = "/etc/ssh/sshd_config.d/00-pbxguard-test-refused.conf"


def owner_mode(lab, path):
    return lab.sh("stat -c '%U:%G %a' " + path).strip()


def test_sshd_refusal_restores_every_file_written(lab, pw, qr):
    """Issue 18's gap: when sshd refused the result, only PAM was put back, not
    ~/.google_authenticator. A drop-in sshd refuses (not ours, placed here) makes
    `sshd -t` fail after all three files were written: each must come back byte
    for byte with its owner and mode, and SSH must keep working."""
    secret = enrolled_secret(lab)
    # three files the run rewrites: a secret file without its options, PAM without
    # our line, and the drop-in (other methods)
    lab.sh("printf '%%s\\n' %s > %s" % (secret, GA))
    lab.sh("sed -i '/pam_google_authenticator\\|(totp): second factor/d' " + PAM)
    assert "pam_google_authenticator" not in lab.read(PAM).decode() and lab.read(GA) == (secret + "\n").encode()
    before = dict((p, (lab.read(p), owner_mode(lab, p))) for p in WATCHED)
    lab.sh("printf 'PbxguardNoSuchOption yes\\n' > " + REFUSED)
    try:
        r = lab.playbook([totp(qr_path=qr, methods="publickey_or_password")])
        assert r.failed, r.raw
        msg = r.last["msg"]
        assert msg.startswith("sshd -t refused the new configuration; the previous files were restored"), msg
        assert "PbxguardNoSuchOption" in msg and secret not in r.raw
        assert dict((p, (lab.read(p), owner_mode(lab, p))) for p in WATCHED) == before
    finally:
        lab.sh("rm -f " + REFUSED)
    # the restored state works: PAM without the factor, so the password alone logs in
    rc, out = ssh(lab, "kbd", pw, "")
    assert rc == 0 and out == "OK " + USER, out
    p = subprocess.run(["ssh", "-i", lab.vars["ansible_ssh_private_key_file"], "-o", "BatchMode=yes",
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                        "root@" + lab.ip, "id -un"], capture_output=True, text=True, timeout=30, check=False)
    assert p.stdout.strip() == "root", p.stderr
    # and the next run (sshd no longer refusing) converges, keeping the secret
    r = lab.playbook([totp(qr_path=qr)])
    assert not r.failed and r.changed == 1 and enrolled_secret(lab) == secret, r.raw
    assert lab.read(GA) != before[GA][0] and "pam_google_authenticator" in lab.read(PAM).decode()
    r = lab.playbook([totp(qr_path=qr)])
    assert not r.failed and r.changed == 0, r.raw


def test_verify_code(lab, qr):
    secret = enrolled_secret(lab)
    shas = [lab.sha(p) for p in WATCHED]
    for code, fragment in (("12345", "exactly 6 digits"), ("12a456", "exactly 6 digits")):
        r = lab.playbook([totp(qr_path=qr, verify_code=code)])
        assert r.failed and "verify_code: must be exactly 6 digits" in r.last["msg"], r.last
    wrong = pyotp.TOTP(secret).at(time.time() - 3600)
    r = lab.playbook([totp(qr_path=qr, verify_code=wrong)])
    assert r.failed and "verify_code: does not match" in r.last["msg"]
    assert [lab.sha(p) for p in WATCHED] == shas
    r = lab.playbook([totp(qr_path=qr, verify_code=pyotp.TOTP(secret).now())])
    assert not r.failed and r.changed == 0


def test_disabled_removes_it_for_this_user_only(lab, pw, qr):
    r = lab.playbook([totp(state="disabled")])
    assert not r.failed and r.changed == 1
    assert lab.read(GA) is None and lab.read(DROPIN) is None
    assert "pam_google_authenticator" not in lab.read(PAM).decode()
    fresh_step()
    rc, out = ssh(lab, "password", pw)
    assert rc == 0, out
    # root's key login never depended on it
    assert lab.sh("id -un").strip() == "root"
    r = lab.playbook([totp(qr_path=qr)])
    assert not r.failed and r.last.get("censored")  # a new secret again, censored
    assert enrolled_secret(lab)


def test_pending_enrolment_with_secret_path(lab, tmp_path):
    r = lab.playbook([totp(state="disabled")])
    assert not r.failed
    secret_path = str(tmp_path / "pbxadmin.totp")
    qr = str(tmp_path / "pbxadmin.png")
    r = lab.playbook([totp(secret_path=secret_path, qr_path=qr, verify_code="123456")])
    assert r.failed and "enrolment pending" in r.last["msg"]
    assert lab.read(GA) is None  # nothing enforced yet
    with open(secret_path) as f:
        secret = f.read().strip()
    assert oct(os.stat(secret_path).st_mode & 0o777) == "0o600"
    r = lab.playbook([totp(secret_path=secret_path, qr_path=qr, verify_code=pyotp.TOTP(secret).now())])
    assert not r.failed and r.last["new_secret"] is False
    assert enrolled_secret(lab) == secret


def test_vvv_output_contains_no_secret(lab, qr):
    r = lab.playbook([totp(state="disabled")])
    assert not r.failed
    p = lab.playbook([totp(qr_path=qr)], verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    secret = enrolled_secret(lab)
    assert "ESTABLISH SSH CONNECTION" in out and "censored" in out
    assert secret not in out
    p = lab.playbook([totp(qr_path=qr)], verbosity=3, json_out=False)
    assert secret not in p.stdout + p.stderr


# ---- the same second factor through the admin module's totp option (the baseline's way)
def admin_totp(lab, pw, **kw):
    task = admin(lab, pw)
    task["pbxguard.asterisk.admin"]["totp"] = dict(dict(issuer="PBX lab", methods="password"), **kw)
    return task


def test_admin_option_enrols_in_the_account_task_and_a_noop_is_one_module_run(lab, pw, tmp_path):
    r = lab.playbook([totp(state="disabled")])
    assert not r.failed and lab.read(GA) is None
    qr2 = str(tmp_path / "admin-totp.png")
    r = lab.playbook([admin_totp(lab, pw, qr_path=qr2)])
    assert not r.failed and r.changed == 1, r.raw
    assert r.last.get("censored")  # a new secret is in the result: the whole result is hidden
    secret = enrolled_secret(lab)
    assert secret and len(secret) == 32 and secret not in r.raw
    assert lab.read(DROPIN) and "pam_google_authenticator" in lab.read(PAM).decode()
    assert oct(os.stat(qr2).st_mode & 0o777) == "0o600"
    fresh_step()
    rc, out = ssh(lab, "kbd", pw, pyotp.TOTP(secret).now())
    assert rc == 0 and out == "OK " + USER, out
    # rerun: nothing to do, the secret kept, one module execution for account and factor together
    r = lab.playbook([admin_totp(lab, pw, qr_path=qr2)])
    assert not r.failed and r.changed == 0, r.raw
    assert r.last["totp"]["new_secret"] is False and r.last["totp"]["enrolled"] is True
    assert "secret" not in r.last["totp"] and enrolled_secret(lab) == secret
    p = lab.playbook([admin_totp(lab, pw, qr_path=qr2)], verbosity=3, json_out=False)
    assert p.returncode == 0 and sum(module_runs(p.stdout + p.stderr).values()) == 1, (p.stdout + p.stderr)[-3000:]
    assert secret not in p.stdout + p.stderr
    # the standalone module agrees: the same files, nothing to change
    r = lab.playbook([totp(qr_path=qr2)])
    assert not r.failed and r.changed == 0, r.raw


def test_admin_option_check_mode_wrong_code_and_disable(lab, pw, tmp_path):
    secret = enrolled_secret(lab)
    assert secret
    shas = [lab.sha(p) for p in WATCHED]
    wrong = pyotp.TOTP(secret).at(time.time() - 3600)
    r = lab.playbook([admin_totp(lab, pw, verify_code=wrong)])
    assert r.failed and r.last["msg"].startswith("totp.verify_code: does not match"), r.last
    r = lab.playbook([admin_totp(lab, pw, verify_code="12a456")])
    assert r.failed and "totp.verify_code: must be exactly 6 digits" in r.last["msg"], r.last
    r = lab.playbook([admin_totp(lab, pw, state="disabled")], check=True)
    assert not r.failed and r.changed == 1 and r.last["totp"]["enrolled"] is False, r.raw
    assert [lab.sha(p) for p in WATCHED] == shas
    r = lab.playbook([admin_totp(lab, pw, verify_code=pyotp.TOTP(secret).now())])
    assert not r.failed and r.changed == 0, r.raw
    r = lab.playbook([admin_totp(lab, pw, state="disabled")])
    assert not r.failed and r.changed == 1 and lab.read(GA) is None and lab.read(DROPIN) is None
    r = lab.playbook([admin_totp(lab, pw, state="disabled")])
    assert not r.failed and r.changed == 0, r.raw
    fresh_step()
    rc, out = ssh(lab, "password", pw)
    assert rc == 0, out


def test_admin_creates_the_account_and_enrols_it_in_one_run(lab, pw):
    """A new account and its second factor in one module run: useradd comes
    before the files the account owns (authorized_keys, ~/.google_authenticator)."""
    user = "pbxadm2"
    ga = "/home/%s/.google_authenticator" % user
    lab.sh("userdel -r %s 2>/dev/null; rm -f /etc/pbxguard/admin/%s.json; true" % (user, user))
    task = {"name": "admin", "pbxguard.asterisk.admin": dict(
        username=user, password=pw, allowed_networks=[lab.controller_ip.rsplit(".", 1)[0] + ".0/24"],
        totp=dict(issuer="PBX lab", methods="password"))}
    r = lab.playbook([task], check=True)
    assert not r.failed and r.changed == 1, r.raw
    assert lab.sh("getent passwd %s || true" % user).strip() == "" and lab.read(ga) is None
    try:
        r = lab.playbook([task])
        assert not r.failed and r.changed == 1 and r.last.get("censored"), r.raw
        assert lab.sh("stat -c '%U:%G %a' " + ga).strip() == "%s:%s 400" % (user, user)
        secret = lab.read(ga).decode().splitlines()[0]
        fresh_step()
        rc, out = ssh(lab, "kbd", pw, pyotp.TOTP(secret).now(), user=user)
        assert rc == 0 and out == "OK " + user, out
        r = lab.playbook([task])
        assert not r.failed and r.changed == 0, r.raw
    finally:
        r = lab.playbook([{"name": "totp off", "pbxguard.asterisk.totp": dict(user=user, state="disabled")}])
        lab.sh("userdel -r %s; rm -f /etc/pbxguard/admin/%s.json /etc/ssh/sshd_config.d/pbxguard-admin-%s.conf; "
               "systemctl reload ssh" % (user, user, user))
    assert not r.failed and lab.read("/etc/ssh/sshd_config.d/pbxguard-totp-%s.conf" % user) is None, r.raw

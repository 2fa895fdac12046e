# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets: scenarios that set and then change secrets (AMI users, extensions
with backups, the administrator's password, a TOTP secret) run at -vvv with
--diff and again with the JSON callback; then every place a secret must not
be is scanned: all controller output, every returned value, Asterisk's logs
under /var/log/asterisk, the host's journal; backups and managed files must be
0640 or stricter and owned like Asterisk's own; the controller's credential
files 0600 in a 0700 directory."""
import os
import stat

from conftest import counts_line, record, strong

SUITE = "secrets"
ASTERISK_FILES = ("/etc/asterisk/manager.conf", "/etc/asterisk/pjsip_pbxguard.conf", "/etc/asterisk/iax_pbxguard.conf",
                  "/etc/asterisk/voicemail.conf", "/etc/asterisk/ari.conf", "/etc/asterisk/http.conf")
USER = "relsec"


def scenario(lab, s, credentials):
    net = lab.controller_ip.rsplit(".", 1)[0] + ".0/24"
    return [
        {"name": "ami", "pbxguard.asterisk.ami": {
            "bind_address": "127.0.0.1", "backup": True, "users": [
                {"name": "relsec1", "secret": s["ami1"], "permit": [net], "read": ["system"]},
                {"name": "relsec2", "secret": s["ami2"], "permit": [net], "read": ["call"]}]}},
        {"name": "extensions", "pbxguard.asterisk.extension": {
            "backup": True, "purge": True, "extensions": [
                {"number": "3501", "secret": s["ext1"], "pin": "8474", "email": "a@example.org",
                 "iax": {"enabled": True, "auth": "md5"}},
                {"number": "3502", "secret": s["ext2"], "authname": "desk3502"}]}},
        {"name": "admin", "pbxguard.asterisk.admin": {
            "username": USER, "password": s["admin"], "allowed_networks": [net], "api_access": True,
            "api_bind_address": "0.0.0.0"}},
        {"name": "totp", "pbxguard.asterisk.totp": {
            "user": USER, "issuer": "PBX rel", "methods": "password", "verify_code": totp_code(s["totp"]),
            "secret_path": credentials + "/totp-" + USER}},
        {"name": "generated", "ansible.builtin.set_fact": {
            "rel_generated": "{{ lookup('pbxguard.asterisk.strong_secret', '%s/pbx1-generated') }}" % credentials},
         "no_log": True},
    ]


def totp_code(secret):
    import pyotp
    return pyotp.TOTP(secret).now()


def keep_totp(credentials, secret):
    """The TOTP secret the action plugin keeps on the controller (0600)."""
    os.makedirs(credentials, mode=0o700, exist_ok=True)
    path = os.path.join(credentials, "totp-" + USER)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (secret + "\n").encode())
        os.close(fd)


def secrets_set():
    import base64
    import secrets as sec
    return {"ami1": strong("Am"), "ami2": strong("Am"), "ext1": strong("Ex"), "ext2": strong("Ex"),
            "admin": strong("Ad"), "totp": base64.b32encode(sec.token_bytes(20)).decode().rstrip("=")}


def test_no_secret_anywhere(lab, tmp_path):
    credentials = str(tmp_path / "credentials")
    runs = [secrets_set(), secrets_set()]
    texts, problems, places = [], [], 0
    lab.sh("journalctl --rotate >/dev/null 2>&1; true", check=False)
    since = lab.sh("date '+%Y-%m-%d %H:%M:%S'").strip()
    keep_totp(credentials, runs[0]["totp"])
    runs[1]["totp"] = runs[0]["totp"]
    changed_sets = []
    for i, s in enumerate(list(runs)):
        # -vvv with diff: everything Ansible prints
        rc, data, out, err = lab.run_playbook(lab.play(scenario(lab, s, credentials)), extra_args=["--diff"],
                                              verbosity=3, json_out=False)
        assert rc == 0, (out + err)[-4000:]
        assert "ESTABLISH SSH CONNECTION" in out + err
        texts.append(("-vvv --diff output, run %d" % (i + 1), out + err))
        # the same scenario once more with changed secrets, JSON: every returned value
        s2 = secrets_set()
        s2["totp"] = s["totp"]
        changed_sets.append(s2)
        rc, data, out, err = lab.run_playbook(lab.play(scenario(lab, s2, credentials)), extra_args=["--diff"])
        assert rc == 0, (out + err)[-4000:]
        texts.append(("returned values (JSON), run %d" % (i + 1), out + err))
    generated = open(credentials + "/pbx1-generated").read().strip()
    all_secrets = set(v for s in runs + changed_sets for v in s.values()) | {generated}
    # Asterisk's logs and the host's journal
    texts.append(("/var/log/asterisk/*", lab.sh("find /var/log/asterisk -type f -exec cat {} + 2>/dev/null; true", check=False)))
    texts.append(("journal since the start", lab.sh("journalctl --since '%s' --no-pager -o cat 2>/dev/null; true" % since,
                                                    check=False)))
    for where, text in texts:
        places += 1
        leaked = sorted(set(sec for sec in all_secrets if sec in text))
        if leaked:
            problems.append("%d secret(s) in %s" % (len(leaked), where))
    # managed files and their backups: 0640 or stricter, owned like Asterisk's
    listing = lab.sh("stat -c '%n %a %U %G' " + " ".join(ASTERISK_FILES) +
                     " $(ls -1 /etc/asterisk/*~ 2>/dev/null) 2>/dev/null; true", check=False)
    files_checked, backups = 0, 0
    for line in listing.strip().splitlines():
        path, mode, user, group = line.rsplit(" ", 3)
        files_checked += 1
        backups += path.endswith("~")
        if int(mode, 8) & 0o137:
            problems.append("%s has mode %s (wider than 0640)" % (path, mode))
        if group != "asterisk" or user not in ("asterisk", "root"):
            problems.append("%s owned %s:%s, not like Asterisk's" % (path, user, group))
    if backups == 0:
        problems.append("no backup file was made (backup: true)")
    # controller credential files
    cred_files = 0
    dmode = stat.S_IMODE(os.stat(credentials).st_mode)
    if dmode & 0o077:
        problems.append("credentials directory mode %o" % dmode)
    for name in os.listdir(credentials):
        cred_files += 1
        m = stat.S_IMODE(os.stat(os.path.join(credentials, name)).st_mode)
        if m & 0o077:
            problems.append("credential file %s mode %o" % (name, m))
    lab.run_playbook(lab.play([{"pbxguard.asterisk.totp": {"user": USER, "state": "disabled"}}]))
    line = counts_line(SUITE, secrets=len(all_secrets), places_scanned=places, files_checked=files_checked,
                       backups=backups, credential_files=cred_files, failures=len(problems))
    record(SUITE, {"secrets": len(all_secrets), "places_scanned": [w for w, t in texts],
                   "bytes_scanned": sum(len(t) for w, t in texts), "files_checked": files_checked,
                   "backups_checked": backups, "credential_files": cred_files, "failures": len(problems),
                   "problems": problems, "files_compared": files_checked, "line": line})
    assert not problems, "\n".join(problems)

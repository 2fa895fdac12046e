# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbxguard.asterisk.mail against a real Asterisk 22 and a real SMTP server
(aiosmtpd, tests/lab/clients/smtp_server.py) on the controller side of the lab
network: STARTTLS on 587, implicit TLS on 465, a plain relay on 2525, AUTH
LOGIN/PLAIN with one test account. Mails are checked as the server received
them (envelope, EHLO name, TLS, login, headers, body)."""
import base64
import secrets

import pytest

from lab_smtp import CA_ON_HOST, SMTP_NAME, USER, parse, start

MSMTPRC = "/etc/msmtprc"
VOICEMAIL = "/etc/asterisk/voicemail.conf"
MODULES = "/etc/asterisk/modules.conf"
SENDER = "pbx1@lab.test"
NAME = "PBX One voicemail"
EHLO = "pbx1.lab.test"
FILES = (MSMTPRC, VOICEMAIL, MODULES)


@pytest.fixture(scope="module")
def smtp(lab):
    server = start(lab)
    yield server
    server.stop()


def mail_task(smtp, **kw):
    params = dict(server=SMTP_NAME, port=587, tls="starttls", tls_ca_file=CA_ON_HOST,
                  client_hostname=EHLO, sender_address=SENDER, sender_name=NAME,
                  username=USER, password=smtp.password)
    params.update(kw)
    params = {k: v for k, v in params.items() if v is not None}
    return {"name": "mail", "pbxguard.asterisk.mail": params}


def reload_mark(lab):
    """Asterisk's 'Last reload time' (also moved by module reload and restart)."""
    for line in lab.cli("core show settings").splitlines():
        if "Last reload time:" in line:
            return line.split(":", 1)[1].strip()
    raise AssertionError("no 'Last reload time' in core show settings")


def shas(lab):
    return tuple(lab.sha(p) for p in FILES)


@pytest.fixture(scope="module", autouse=True)
def converged(lab, smtp):
    r = lab.playbook([mail_task(smtp)])
    assert not r.failed, r.raw
    return r


def test_test_mail_arrives_over_starttls_with_login(lab, smtp):
    n = len(smtp.mails())
    r = lab.playbook([mail_task(smtp, send_test_to="ops@lab.test")])
    assert not r.failed, r.last.get("msg")
    assert r.changed == 0, "sending a test mail is not a change"
    assert r.last["test_mail"] == "test mail sent to ops@lab.test via %s:587" % SMTP_NAME
    got = smtp.wait_for(n + 1)[n]
    assert got["port"] == 587 and got["tls"] is True and got["login"] == USER
    assert got["helo"] == EHLO
    assert got["mail_from"] == SENDER and got["rcpt_tos"] == ["ops@lab.test"]
    msg = parse(got)
    assert msg["From"] == '%s <%s>' % (NAME, SENDER)
    assert msg["Subject"] == "pbxguard.asterisk test mail from pbx1"
    assert "through the same\ntransport Asterisk's voicemail uses (/usr/bin/msmtp -t" in msg.get_content().replace("\r\n", "\n")
    assert smtp.password not in r.raw


def test_second_run_changes_nothing_and_files_stay_byte_identical(lab, smtp):
    before = shas(lab)
    marker = reload_mark(lab)
    r = lab.playbook([mail_task(smtp)])
    assert not r.failed and r.changed == 0
    assert (r.last["reloaded"], r.last["restarted"], r.last["msmtprc_changed"],
            r.last["voicemail_changed"], r.last["modules_changed"]) == (False, False, False, False, False)
    assert shas(lab) == before
    assert reload_mark(lab) == marker


def test_files_owner_mode_and_content(lab, smtp):
    assert lab.sh("stat -c '%U:%G %a' " + MSMTPRC).strip() == "root:asterisk 640"
    assert lab.sh("stat -c '%U:%G %a' " + VOICEMAIL).strip() == "asterisk:asterisk 640"
    rc = lab.read(MSMTPRC).decode()
    assert 'password "%s"' % smtp.password in rc
    assert "host %s\nport 587\ntls on\ntls_starttls on\ntls_certcheck on\n" % SMTP_NAME in rc
    general = lab.sh("sed -n '/^\\[general\\]/,/^\\[/p' %s | grep -E '^(mailcmd|serveremail|fromstring) *='"
                     % VOICEMAIL)
    assert sorted(ln.replace(" ", "") for ln in general.split("\n") if ln) == sorted(
        ["mailcmd=/usr/bin/msmtp-t", "serveremail=%s" % SENDER, "fromstring=%s" % NAME.replace(" ", "")])
    assert "noload => app_voicemail_odbc.so" in lab.read(MODULES).decode()


def voicemail_mail(lab, smtp, full_name="Lab Box"):
    """A real voicemail: a Local channel plays a prompt into VoiceMail(); the
    mail app_voicemail sends with its mailcmd, as the SMTP server got it."""
    box = "[pbxmailtest]\n9001 => 4242,%s,box9001@lab.test,,attach=yes\n" % full_name
    original = lab.read(VOICEMAIL)
    lab.sh("cat >> %s" % VOICEMAIL, input="\n" + box)
    try:
        lab.cli("module reload app_voicemail.so")
        for cmd in ("s,1,Answer()", "s,2,Playback(vm-goodbye)", "s,3,Hangup()"):
            lab.cli("dialplan add extension %s into pbxmailtest-src replace" % cmd)
        n = len(smtp.mails())
        lab.cli("channel originate Local/s@pbxmailtest-src application VoiceMail 9001@pbxmailtest,s")
        mails = smtp.wait_for(n + 1, timeout=40)
        assert len(mails) == n + 1, "no voicemail mail arrived"
        return mails[n]
    finally:
        lab.sh("cat > %s" % VOICEMAIL, input=original.decode("utf-8", "surrogateescape"))
        lab.sh("rm -rf /var/spool/asterisk/voicemail/pbxmailtest")
        lab.cli("module reload app_voicemail.so")


def test_voicemail_mail_arrives_through_app_voicemail(lab, smtp):
    got = voicemail_mail(lab, smtp)
    assert got["rcpt_tos"] == ["box9001@lab.test"] and got["mail_from"] == SENDER
    assert got["tls"] is True and got["login"] == USER and got["helo"] == EHLO
    msg = parse(got)
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["From"].addresses[0].display_name == NAME
    assert msg["Subject"] == "[PBX]: New message 1 in mailbox 9001"
    parts = [p.get_content_type() for p in msg.walk()]
    assert "audio/x-wav" in parts, parts


def test_sender_name_with_a_lone_dollar_is_printed_literally(lab, smtp):
    """fromstring is substituted by app_voicemail: a '$' that opens no
    expression (accepted by the policy) reaches the mail as it was written."""
    literal = "PBX US$ 5 {line} $HOME"
    r = lab.playbook([mail_task(smtp, sender_name=literal)])
    assert not r.failed, r.raw
    try:
        msg = parse(voicemail_mail(lab, smtp, full_name="Lab $ Box"))
        assert msg["From"].addresses[0].display_name == literal
        assert msg["To"].addresses[0].display_name == "Lab $ Box"
    finally:
        r = lab.playbook([mail_task(smtp)])
        assert not r.failed, r.raw


def test_mailcmd_and_sendmail_work_as_user_asterisk(lab, smtp):
    """The way app_voicemail runs it: ( mailcmd < file ) as user asterisk;
    and /usr/sbin/sendmail -t (msmtp-mta) reads the same system file."""
    mailcmd = lab.sh("sed -n 's/^mailcmd *= *//p' %s" % VOICEMAIL).strip()
    assert mailcmd == "/usr/bin/msmtp -t"
    n = len(smtp.mails())
    for i, cmd in enumerate((mailcmd, "/usr/sbin/sendmail -t")):
        body = "From: %s\nTo: cmd%d@lab.test\nSubject: via %s\n\nhello %d\n" % (SENDER, i, cmd, i)
        lab.sh("cat > /tmp/vm-mail.txt && chown asterisk /tmp/vm-mail.txt && "
               "runuser -u asterisk -- /bin/sh -c '( %s < /tmp/vm-mail.txt )'" % cmd, input=body)
    mails = smtp.wait_for(n + 2)
    assert [m["rcpt_tos"] for m in mails[n:]] == [["cmd0@lab.test"], ["cmd1@lab.test"]]
    assert parse(mails[n + 1])["Subject"] == "via /usr/sbin/sendmail -t"
    # others than root and group asterisk cannot read the password
    p = lab.sh("runuser -u nobody -- cat %s" % MSMTPRC, check=False)
    assert smtp.password not in p


def test_refused_login_fails_with_server_answer_and_restores(lab, smtp):
    before = shas(lab)
    n = len(smtp.mails())
    wrong = "Wr0ng-%s" % secrets.token_hex(4)
    r = lab.playbook([mail_task(smtp, password=wrong, send_test_to="ops@lab.test")])
    assert r.failed
    msg = r.last["msg"]
    assert "535 5.7.8 Authentication credentials invalid" in msg, msg
    assert "the test mail to ops@lab.test was not sent" in msg and "previous files were restored" in msg
    assert wrong not in r.raw and smtp.password not in r.raw
    assert shas(lab) == before, "a refused account replaced the working one"
    assert len(smtp.mails()) == n
    # the working account still sends
    r = lab.playbook([mail_task(smtp, send_test_to="ops@lab.test")])
    assert not r.failed and r.changed == 0


def test_failed_test_mail_restores_all_three_files_and_voicemail(lab, smtp):
    """All three files change at once (modules.conf lost its noload line,
    a new sender name, a wrong password): the refused test mail comes after
    every write and the reload; every file comes back byte-identical, the old
    voicemail.conf is reloaded and voicemail still runs with its applications."""
    lab.sh("sed -i '/^noload => app_voicemail_odbc.so$/d' %s" % MODULES)
    try:
        before = shas(lab)
        marker = reload_mark(lab)
        wrong = "Wr0ng-%s" % secrets.token_hex(4)
        r = lab.playbook([mail_task(smtp, password=wrong, sender_name="PBX Other", send_test_to="ops@lab.test")])
        assert r.failed
        assert (r.last["msmtprc_changed"], r.last["voicemail_changed"], r.last["modules_changed"]) == (
            True, True, True)
        msg = r.last["msg"]
        assert "the test mail to ops@lab.test was not sent" in msg and "previous files were restored" in msg, msg
        assert shas(lab) == before, "a file was not restored"
        assert reload_mark(lab) != marker, "voicemail was not reloaded"
        assert "PBX Other" not in lab.read(VOICEMAIL).decode()
        assert "app_voicemail.so" in lab.cli("module show like app_voicemail.so")
        assert "VoiceMail:" in lab.cli("core show applications like VoiceMail")
        assert wrong not in r.raw and smtp.password not in r.raw
    finally:
        r = lab.playbook([mail_task(smtp)])
    assert not r.failed and r.last["modules_changed"], r.last.get("msg")
    assert "noload => app_voicemail_odbc.so" in lab.read(MODULES).decode()


def test_untrusted_server_certificate_is_refused(lab, smtp):
    before = shas(lab)
    r = lab.playbook([mail_task(smtp, tls_ca_file=None, send_test_to="ops@lab.test")])
    assert r.failed
    assert "TLS" in r.last["msg"] and "certificate" in r.last["msg"].lower(), r.last["msg"]
    assert shas(lab) == before


def test_implicit_tls_on_465_and_plain_relay(lab, smtp):
    n = len(smtp.mails())
    try:
        r = lab.playbook([mail_task(smtp, tls="tls", port=465, send_test_to="ops@lab.test")])
        assert not r.failed, r.last.get("msg")
        assert r.last["msmtprc_changed"] and not r.last["voicemail_changed"] and not r.last["reloaded"]
        got = smtp.wait_for(n + 1)[n]
        assert (got["port"], got["tls"], got["login"]) == (465, True, USER)
        assert "tls_starttls off" in lab.read(MSMTPRC).decode()
        # a relay without TLS and without login (port 2525)
        r = lab.playbook([mail_task(smtp, tls="none", port=2525, tls_ca_file=None, username=None,
                                    password=None, send_test_to="ops@lab.test")])
        assert not r.failed, r.last.get("msg")
        got = smtp.wait_for(n + 2)[n + 1]
        assert (got["port"], got["tls"], got["login"]) == (2525, False, None)
        assert "\npassword " not in lab.read(MSMTPRC).decode() and "\nauth off\n" in lab.read(MSMTPRC).decode()
    finally:
        r = lab.playbook([mail_task(smtp)])
        assert not r.failed


def test_check_mode_predicts_exactly(lab, smtp):
    before = shas(lab)
    marker = reload_mark(lab)
    n = len(smtp.mails())
    task = mail_task(smtp, sender_name="PBX One mailbox", send_test_to="ops@lab.test")
    r = lab.playbook([task], check=True)
    assert not r.failed and r.changed == 1
    predicted = (r.last["msmtprc_changed"], r.last["voicemail_changed"], r.last["modules_changed"],
                 r.last["restarted"])
    assert predicted == (False, True, False, False)
    assert r.last["test_mail"].startswith("not sent in check mode")
    assert shas(lab) == before and reload_mark(lab) == marker and len(smtp.mails()) == n
    r = lab.playbook([task])
    assert not r.failed
    assert (r.last["msmtprc_changed"], r.last["voicemail_changed"], r.last["modules_changed"],
            r.last["restarted"]) == predicted
    assert r.last["reloaded"] is True and reload_mark(lab) != marker
    assert parse(smtp.wait_for(n + 1)[n])["From"].addresses[0].display_name == "PBX One mailbox"
    r = lab.playbook([mail_task(smtp)])
    assert not r.failed and r.last["voicemail_changed"]


def test_diff_and_vvv_never_show_the_password(lab, smtp):
    new = "N3w-%s\"x" % secrets.token_hex(4)
    marker = reload_mark(lab)
    r = lab.playbook([mail_task(smtp, password=new)], diff=True)
    assert not r.failed
    assert r.last["msmtprc_changed"] and not r.last["voicemail_changed"]
    assert r.last["reloaded"] is False and reload_mark(lab) == marker, "reloaded for msmtprc only"
    diff = r.last["diff"]
    assert [d["after_header"] for d in diff] == [MSMTPRC]
    before = [ln for ln in diff[0]["before"].splitlines() if ln.startswith("password")]
    after = [ln for ln in diff[0]["after"].splitlines() if ln.startswith("password")]
    assert before[0].startswith("password <secret:") and after[0].startswith("password <secret:")
    assert before != after
    assert new not in r.raw and smtp.password not in r.raw
    p = lab.playbook([mail_task(smtp)], diff=True, verbosity=3, json_out=False)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-2000:]
    assert "ESTABLISH SSH CONNECTION" in out and "<secret:" in out
    assert new not in out and smtp.password not in out


def test_hand_planted_secrets_never_in_vvv_diff(lab, smtp, monkeypatch):
    """Passwords written by hand into msmtprc (which this module rewrites) in
    msmtp's forms, a voicemail PIN and an IMAP password in voicemail.conf
    (which it edits), none a task value: the -vvv --diff output of a run
    rewriting both shows none."""
    p = {k: "Pl%s%s" % (k, secrets.token_hex(5)) for k in ("hand", "quoted", "old", "eval", "imap")}
    p["pin"] = "%06d" % (100000 + secrets.randbelow(900000))
    originals = dict((f, lab.read(f).decode()) for f in (MSMTPRC, VOICEMAIL))
    lab.sh("cat >> %s" % MSMTPRC, input="\naccount handacct\nhost 198.18.0.99\nuser hand\npassword %(hand)s\n"
           "account handacct2\nhost 198.18.0.99\n\tpassword   \"%(quoted)s with space\"\n# password %(old)s\n"
           "account handacct3\nhost 198.18.0.99\npasswordeval echo %(eval)s\n" % p)
    lab.sh("cat >> %s" % VOICEMAIL, input="\n[handctx]\nhandbox => -%(pin)s,Hand Box,,,imappassword=%(imap)s\n" % p)
    try:
        monkeypatch.setenv("ANSIBLE_DIFF_CONTEXT", "100000")  # whole files in the printed diff
        run = lab.playbook([mail_task(smtp, password="N3w-%s!x" % secrets.token_hex(4), sender_name="Hand test")],
                           diff=True, verbosity=3, json_out=False)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-3000:]
        assert "ESTABLISH SSH CONNECTION" in out and "<secret:" in out
        for name in ("account handacct3", "[handctx]", "handbox =>"):
            assert name in out, name
        leaked = sorted(k for k, v in p.items() if v in out)
        assert not leaked, "hand-planted secrets in the -vvv --diff output: %s" % leaked
    finally:
        monkeypatch.delenv("ANSIBLE_DIFF_CONTEXT", raising=False)
        for f, text in originals.items():
            lab.sh("cat > %s" % f, input=text)
        lab.cli("voicemail reload")
        lab.playbook([mail_task(smtp)])


def test_odbc_voicemail_module_detected_and_fixed(lab, smtp):
    """Debian's app_voicemail_odbc.so unregisters VoiceMail when it fails to
    load: without the noload line a restart leaves voicemail without its
    applications. fix_voicemail_module=false fails clearly; true repairs it."""
    lab.sh("sed -i '/^noload => app_voicemail_odbc.so$/d' %s" % MODULES)
    lab.sh("systemctl restart asterisk; for i in $(seq 60); do asterisk -rx 'core waitfullybooted' 2>/dev/null"
           " | grep -q 'fully booted' && exit 0; sleep 1; done; exit 1")
    assert "VoiceMail:" not in lab.cli("core show applications like VoiceMail")
    before = shas(lab)
    r = lab.playbook([mail_task(smtp, fix_voicemail_module=False)])
    assert r.failed
    assert "app_voicemail_odbc.so" in r.last["msg"] and "noload" in r.last["msg"], r.last["msg"]
    assert shas(lab) == before
    r = lab.playbook([mail_task(smtp)], check=True)
    assert not r.failed and r.last["modules_changed"] and r.last["restarted"]
    assert shas(lab) == before
    r = lab.playbook([mail_task(smtp)])
    assert not r.failed, r.last.get("msg")
    assert r.last["modules_changed"] and r.last["restarted"]
    assert "VoiceMail:" in lab.cli("core show applications like VoiceMail")
    r = lab.playbook([mail_task(smtp)])
    assert not r.failed and r.changed == 0


BAD = [
    ("host-double-dot", {"server": "smtp..lab.test"}, ["server", "empty label"]),
    ("host-underscore", {"server": "smtp_lab.test"}, ["server", "'_'"]),
    ("host-leading-hyphen", {"server": "-smtp.lab.test"}, ["server", "'-'"]),
    ("host-newline", {"server": "smtp.lab.test\n[general]"}, ["server", "newline"]),
    ("host-bad-ipv4", {"server": "198.18.0.300"}, ["server"]),
    ("ehlo-space", {"client_hostname": "pbx one"}, ["client_hostname", "space"]),
    ("sender-no-domain", {"sender_address": "pbx1"}, ["sender_address", "e-mail"]),
    ("sender-semicolon", {"sender_address": "a;b@lab.test"}, ["sender_address", "';'"]),
    ("sender-hash", {"sender_address": "a#b@lab.test"}, ["sender_address", "'#'"]),
    ("name-newline", {"sender_name": "PBX\nmailcmd=/bin/sh"}, ["sender_name", "newline"]),
    ("name-bracket", {"sender_name": "PBX [one]"}, ["sender_name", "'['"]),
    ("name-semicolon", {"sender_name": "PBX; one"}, ["sender_name", "';'"]),
    ("name-hash", {"sender_name": "PBX #1"}, ["sender_name", "'#'"]),
    ("name-quote", {"sender_name": 'PBX "one"'}, ["sender_name", "'\"'"]),
    ("name-expression", {"sender_name": "PBX ${SHELL(id)}"},
     ["sender_name: contains '${'; Asterisk would evaluate it as an expression"]),
    ("name-variable", {"sender_name": "PBX ${VM_MAILBOX}"}, ["sender_name: contains '${'"]),
    ("name-arithmetic", {"sender_name": "PBX $[1+1]"}, ["sender_name: contains '$['"]),
    ("password-newline", {"password": "Abc\nhost evil"}, ["password", "newline"]),
    ("password-hash", {"password": "Abc#def"}, ["password", "'#'"]),
    ("password-without-user", {"username": None}, ["username", "required together"]),
    ("password-in-clear", {"tls": "none", "port": 25, "tls_ca_file": None}, ["password", "clear text"]),
    ("port-0", {"port": 0}, ["port", "range"]),
    ("port-65536", {"port": 65536}, ["port", "range"]),
    ("tls-bogus", {"tls": "ssl"}, ["tls"]),
    ("ca-relative", {"tls_ca_file": "ca.pem"}, ["tls_ca_file"]),
    ("ca-missing", {"tls_ca_file": "/etc/nonexistent-ca.pem"}, ["tls_ca_file", "does not exist"]),
    ("test-to-bad", {"send_test_to": "ops@lab"}, ["send_test_to", "e-mail"]),
    # refused by the transaction before AnsibleModule (whose syslog of the invocation fails on them)
    ("sender-nul", {"sender_address": "pbx1\x00@lab.test"}, ["sender_address", "NUL"]),
    ("password-nul", {"password": "Abc\x00def-1!"}, ["password", "NUL"]),
    # 'PBX \xff One' (not UTF-8), as from a vars file read with the wrong encoding
    ("name-non-utf8", {"sender_name": "{{ '%s' | b64decode }}" % base64.b64encode(b"PBX \xff One").decode()},
     ["sender_name", "not UTF-8"]),
]


@pytest.fixture(scope="module")
def bad_runs(lab, smtp):
    """Every bad input as its own task of one play (ignore_errors), so the
    table costs one ansible-playbook run; files, reloads and mails are
    compared around the whole play."""
    before = (shas(lab), reload_mark(lab), len(smtp.mails()))
    tasks = []
    for case in BAD:
        t = mail_task(smtp, **case[1])
        t["name"] = case[0]
        t["ignore_errors"] = True
        tasks.append(t)
    r = lab.playbook(tasks)
    after = (shas(lab), reload_mark(lab), len(smtp.mails()))
    return r, before, after


def test_bad_inputs_change_nothing(bad_runs, smtp):
    r, before, after = bad_runs
    assert len(r.results) == len(BAD)
    assert after[0] == before[0], "a file changed"
    assert after[1] == before[1], "Asterisk was reloaded"
    assert after[2] == before[2], "a mail was sent"
    assert smtp.password not in r.raw


@pytest.mark.parametrize("index", range(len(BAD)), ids=[c[0] for c in BAD])
def test_bad_input_refused_with_clear_error(bad_runs, index):
    r = bad_runs[0]
    name, params, expected = BAD[index]
    res = r.results[index]
    assert res.get("failed"), "%s was accepted: %r" % (name, res)
    msg = res.get("msg", "")
    for fragment in expected:
        assert fragment in msg, "%r not in %r" % (fragment, msg)
    if params.get("password"):
        assert params["password"] not in r.raw

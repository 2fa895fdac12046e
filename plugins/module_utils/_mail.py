# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mail account core: the host's mail transport for Asterisk's voicemail.

``MailChange`` runs on the change transaction (_transaction.py): validate ->
plan (msmtprc, voicemail.conf [general], modules.conf; pure renderers below)
-> apply (reload app_voicemail only when voicemail.conf changed, restart once
only to recover a VoiceMail application that Debian's app_voicemail_odbc.so
unregistered) -> verify (msmtp reads the file as user asterisk; app_voicemail
running with its applications; the test mail, when asked for, goes out) ->
on failure the transaction restores every file written.

msmtp is the transport: /etc/msmtprc is its system file (owner root, group
asterisk, 0640: Asterisk's msmtp can read the password, nobody else). msmtp
applies its owner-only security check to user files (~/.msmtprc, --file) but
not to the system file, which is why the system file is the one used."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import time

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _modules_conf as modules_conf
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _policy as policy
from ansible_collections.pbxguard.asterisk.plugins.module_utils._files import LOCAL
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import (
    Change, ChangeError, File, Plan)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile,
)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    run_cli, AsteriskCliError, ASTERISK_LOG, log_offset, log_since,
)

MSMTPRC = "/etc/msmtprc"
# root-owned, readable by Asterisk's msmtp (group asterisk), nobody else
RC_OWNER = "root"
RC_GROUP = "asterisk"
RC_MODE = 0o640
MSMTP = "/usr/bin/msmtp"
VOICEMAIL_CONF = "/etc/asterisk/voicemail.conf"
MODULES_CONF = modules_conf.MODULES_CONF
MAILCMD = MSMTP + " -t"
ACCOUNT = "pbxguard"
MARKER = "managed by pbxguard.asterisk (mail)"
TLS_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
ODBC_MODULE = "app_voicemail_odbc.so"
MODULE_DIRS = ("/usr/lib/*/asterisk/modules", "/usr/lib/asterisk/modules",
               "/usr/lib64/asterisk/modules")
# every value written to a file: none of these (msmtp and Asterisk comments,
# Asterisk section headers, line breaks)
FORBIDDEN = ";#["


class MailError(ChangeError):
    """msmtp or Asterisk refused (their words in the message)."""


def _no_injection(value, option, secret=False):
    """Refuse control characters and ; # [ in any value reaching a file.
    A secret's message names only the character classes."""
    if not isinstance(value, str):
        raise policy.PolicyError("%s: must be a string" % option)
    if value == "":
        raise policy.PolicyError("%s: must not be empty" % option)
    bad = [c for c in value if c in FORBIDDEN or not c.isprintable()]
    if bad:
        if secret and len(bad) == len(value):
            raise policy.PolicyError("%s: has no allowed character (no control characters, "
                                     "no ; # [)" % option)
        raise policy.PolicyError("%s: must not contain %s (they would end up in a config file "
                                 "as a comment, a section or a new line)"
                                 % (option, policy._describe_chars(bad)))
    if value != value.strip():
        raise policy.PolicyError("%s: must not start or end with whitespace" % option)
    return value


def usable_domain(name):
    """``name`` (the host's FQDN) when it is a valid EHLO name, else None
    (an odd local name: msmtp's own default then)."""
    if name is None:
        return None
    try:
        return policy.check_host(name, "client_hostname")
    except policy.PolicyError:
        return None


def validate(params, default_domain=None):
    """Every option checked before anything is read or written. Returns the
    canonical 'want' dict; raises PolicyError naming the option and the rule."""
    errors = []
    want = {}

    def check(option, fn, *args):
        try:
            return fn(*args)
        except policy.PolicyError as e:
            errors.append(str(e))
            return None

    tls = params.get("tls") or "starttls"
    if tls not in TLS_MODES:
        errors.append("tls: must be one of %s" % ", ".join(TLS_MODES))
        tls = "starttls"
    want["tls"] = tls
    want["server"] = check("server", policy.check_host, params.get("server"), "server")
    port = params.get("port")
    want["port"] = DEFAULT_PORTS[tls] if port is None else check(
        "port", policy.check_port, port, "port", ())
    domain = params.get("client_hostname")
    if domain is None:
        domain = usable_domain(default_domain)
    else:
        domain = check("client_hostname", policy.check_host, domain, "client_hostname")
    want["domain"] = domain
    sender = params.get("sender_address")
    if check("sender_address", _no_injection, sender, "sender_address") is not None:
        want["from"] = check("sender_address", policy.check_email, sender, "sender_address")
    name = params.get("sender_name")
    if name is not None:
        if check("sender_name", _no_injection, name, "sender_name") is not None:
            name = check("sender_name", policy.check_text, name, "sender_name", 100, '"\\<>')
        if name is not None:
            # written as voicemail.conf's fromstring, which app_voicemail substitutes
            name = check("sender_name", policy.no_expression, name, "sender_name")
    want["name"] = name
    user = params.get("username")
    password = params.get("password")
    if user is not None:
        check("username", _no_injection, user, "username")
    if password is not None:
        check("password", _no_injection, password, "password", True)
    if (user is None) != (password is None):
        errors.append("%s: required together with %s (SMTP AUTH needs both)"
                      % (("password", "username") if password is None else ("username", "password")))
    if password is not None and tls == "none":
        errors.append("password: refused with tls=none (the password would cross the network "
                      "in clear text); use tls=starttls or tls=tls")
    want["user"] = user
    want["password"] = password
    ca = params.get("tls_ca_file")
    if ca is not None:
        if check("tls_ca_file", _no_injection, ca, "tls_ca_file") is not None and not ca.startswith("/"):
            errors.append("tls_ca_file: must be an absolute path on the host")
        if tls == "none":
            errors.append("tls_ca_file: has no use with tls=none")
    want["ca"] = ca
    to = params.get("send_test_to")
    if to is not None and check("send_test_to", _no_injection, to, "send_test_to") is not None:
        check("send_test_to", policy.check_email, to, "send_test_to")
    want["test_to"] = to
    want["fix_voicemail_module"] = bool(params.get("fix_voicemail_module", True))
    if errors:
        raise policy.PolicyError("\n".join(errors))
    return want


def _q(value):
    """msmtp quoting: the argument in double quotes. msmtp strips the outer
    quotes and takes everything between them literally (no escapes: a
    password ``a"b\\c`` is written ``"a"b\\c"``; proven against a real server)."""
    return '"%s"' % value


def render_msmtprc(want, password_text=None):
    """The /etc/msmtprc text (str). ``password_text`` replaces the quoted
    password (for a masked diff)."""
    lines = [
        "# %s: changes made here are overwritten" % MARKER,
        "# msmtp system configuration: Asterisk voicemail (mailcmd %s) and test mails." % MAILCMD,
        "# Contains the SMTP password: owner root, group asterisk, mode 0640.",
        "defaults",
        "timeout 30",
        "syslog LOG_MAIL",
        "",
        "account %s" % ACCOUNT,
        "host %s" % want["server"],
        "port %d" % want["port"],
    ]
    if want["tls"] == "none":
        lines.append("tls off")
    else:
        lines.append("tls on")
        lines.append("tls_starttls %s" % ("on" if want["tls"] == "starttls" else "off"))
        lines.append("tls_certcheck on")
        lines.append("tls_trust_file %s" % (_q(want["ca"]) if want["ca"] else "system"))
    if want["domain"]:
        lines.append("domain %s" % want["domain"])
    lines.append("from %s" % _q(want["from"]))
    if want["user"] is not None:
        lines.append("auth on")
        lines.append("user %s" % _q(want["user"]))
        lines.append("password %s" % (password_text if password_text is not None
                                      else _q(want["password"])))
    else:
        lines.append("auth off")
    lines += ["", "account default : %s" % ACCOUNT, ""]
    return "\n".join(lines)


def odbc_module_present(dirs=MODULE_DIRS, files=LOCAL):
    for d in dirs:
        if files.glob(os.path.join(d, ODBC_MODULE)):
            return True
    return False


def plan_voicemail(data, want, path=VOICEMAIL_CONF):
    """Pure: voicemail.conf with [general] mailcmd/serveremail/fromstring."""
    cfg = ConfigFile.from_bytes(data or b"", path)
    g = cfg.first("general")
    if g is None:
        g = cfg.add_section("general")
        cfg.sections.insert(0, cfg.sections.pop())
    g.set("mailcmd", MAILCMD)
    g.set("serveremail", want["from"])
    if want["name"] is not None:
        g.set("fromstring", want["name"])
    return cfg.to_bytes()


def plan_modules(data, path=MODULES_CONF):
    """Pure: modules.conf with ``noload => app_voicemail_odbc.so`` when that
    module would otherwise be autoloaded (the shared modules.conf edit of
    _modules_conf.py). Returns (bytes, needed: bool)."""
    return modules_conf.ensure_noload(
        data, ODBC_MODULE, "fix_voicemail_module", "fix_voicemail_module=false",
        why="that module unregisters app_voicemail's VoiceMail applications when it fails to load", path=path)


# ------------------------------------------------------------ live state
def voicemail_state(module):
    """(app_voicemail running, VoiceMail application registered)."""
    mods = run_cli(module, "module show like app_voicemail.so")
    running = any(ln.split()[:1] == ["app_voicemail.so"] and "Running" in ln and "Not Running" not in ln
                  for ln in mods.splitlines())
    apps = run_cli(module, "core show applications like VoiceMail")
    registered = any(ln.strip().startswith("VoiceMail:") for ln in apps.splitlines())
    return running, registered


def restart_asterisk(module, timeout=120):
    rc, out, err = module.run_command(["systemctl", "restart", "asterisk"])
    if rc != 0:
        raise MailError("systemctl restart asterisk failed: %s" % (err or out).strip())
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        try:
            last = run_cli(module, "core waitfullybooted", timeout=30)
            if "fully booted" in last.lower():
                return
        except AsteriskCliError as e:
            last = str(e)
        time.sleep(1)
    raise MailError("Asterisk did not come back within %ds after the restart: %s" % (timeout, last))


def as_asterisk(module, argv):
    """argv run as user asterisk (as Asterisk's own mailcmd would), when
    runuser and the user exist; else as is."""
    try:
        import pwd
        pwd.getpwnam("asterisk")
    except (ImportError, KeyError):
        return argv
    runuser = module.get_bin_path("runuser")
    if runuser:
        return [runuser, "-u", "asterisk", "--"] + argv
    return argv


def msmtp_settings(module):
    """msmtp's own reading of the file (``--pretend``), as user asterisk.
    Returns {key: value}; raises MailError with msmtp's words."""
    rc, out, err = module.run_command(as_asterisk(module, [MSMTP, "--pretend", "--account",
                                                           "default", "probe@invalid.example"]),
                                      data="\n")  # stdin must not be a tty: msmtp would wait on it
    if rc != 0:
        raise MailError("msmtp (as user asterisk) does not accept %s: %s"
                        % (MSMTPRC, (err or out).strip()))
    found = {}
    for line in (out or "").splitlines():
        key, sep, value = line.partition(" = ")
        if sep and key.strip() and key.strip() not in found:
            found[key.strip()] = value.strip()
    return found


def verify(module, want, fix):
    """Problems found in the live state (empty = good)."""
    problems = []
    s = msmtp_settings(module)
    expect = {"host": want["server"], "port": str(want["port"]), "from": want["from"],
              "tls": "off" if want["tls"] == "none" else "on"}
    if want["tls"] != "none":
        expect["tls_starttls"] = "on" if want["tls"] == "starttls" else "off"
    if want["domain"]:
        expect["domain"] = want["domain"]
    for k, v in expect.items():
        if s.get(k) != v:
            problems.append("msmtp reads %s = %r, expected %r" % (k, s.get(k), v))
    running, registered = voicemail_state(module)
    if not running:
        problems.append("app_voicemail.so is not running (module show like app_voicemail.so)")
    elif fix and not registered:
        problems.append("the VoiceMail application is not registered "
                        "(core show applications like VoiceMail)")
    return problems


def build_test_mail(want, to, hostname):
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate, make_msgid
    msg = EmailMessage()
    msg["From"] = formataddr((want["name"], want["from"])) if want["name"] else want["from"]
    msg["To"] = to
    msg["Subject"] = "pbxguard.asterisk test mail from %s" % hostname
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=want["domain"] or "pbxguard.invalid")
    msg.set_content(
        "This is a test mail from the PBX %s, sent by pbxguard.asterisk.mail through the same\n"
        "transport Asterisk's voicemail uses (%s, account %s of %s).\n"
        "SMTP server %s port %d, TLS %s.\n"
        % (hostname, MAILCMD, ACCOUNT, MSMTPRC, want["server"], want["port"], want["tls"]))
    return msg.as_string()


def send_test(module, want, to, hostname=None):
    """Send a test mail through msmtp as user asterisk. Returns a summary;
    raises MailError quoting msmtp (and with it the SMTP server's answer)."""
    hostname = hostname or socket.gethostname()
    text = build_test_mail(want, to, hostname)
    rc, out, err = module.run_command(
        ["timeout", "--kill-after=5", "90"] + as_asterisk(module, [MSMTP, "--account", "default", "--", to]),
        data=text, binary_data=True)
    if rc != 0:
        said = " | ".join(ln.strip() for ln in ((err or "") + (out or "")).splitlines() if ln.strip())
        raise MailError("the test mail to %s was not sent (msmtp exit %d): %s"
                        % (to, rc, said or "no message"))
    return "test mail sent to %s via %s:%d" % (to, want["server"], want["port"])


def summary(want):
    return "Mail: %s:%d %s as %s%s, voicemail mailcmd %s" % (
        want["server"], want["port"],
        {"starttls": "STARTTLS", "tls": "TLS", "none": "without TLS"}[want["tls"]],
        want["from"], (", login %s" % want["user"]) if want["user"] else ", no login", MAILCMD)


class MailChange(Change):
    """msmtprc, modules.conf and voicemail.conf; reload (or the one restart)
    of voicemail; msmtp's reading and the test mail as the proof. modules.conf
    is restored with the others when the change fails: one rule for every
    file (the noload line comes back with the next successful run)."""

    name = "mail"
    odbc_module_present = staticmethod(odbc_module_present)

    def validate(self, params):
        # the host's FQDN (a DNS lookup) is looked up in plan, only when no
        # client_hostname is given, never before the input is validated
        want = validate(params)
        want["domain_given"] = params.get("client_hostname") is not None
        return want

    def plan(self, host, spec):
        want = spec
        if not want["domain_given"]:
            # the kernel's host name, not getfqdn(): no DNS lookup the task did not ask
            # for (on a voice VLAN without a reachable nameserver each waits ~10 s)
            want = dict(want, domain=usable_domain(socket.gethostname()))
        fix = want["fix_voicemail_module"]
        settings = dict(server=want["server"], port=want["port"], tls=want["tls"],
                        client_hostname=want["domain"], sender_address=want["from"],
                        sender_name=want["name"], username=want["user"], mailcmd=MAILCMD)
        if not host.exists(MSMTP):
            raise policy.PolicyError("msmtp is not installed on the host (%s missing): install the "
                                     "Debian package msmtp (and msmtp-mta for /usr/sbin/sendmail)" % MSMTP)
        if want["ca"] and not host.isfile(want["ca"]):
            raise policy.PolicyError("tls_ca_file: %s does not exist on the host" % want["ca"])
        old_rc = host.read(MSMTPRC)
        rc_file = File(MSMTPRC, old_rc, render_msmtprc(want).encode("utf-8"), RC_OWNER, RC_GROUP, RC_MODE,
                       attributes_differ=host.attributes_differ(MSMTPRC, RC_OWNER, RC_GROUP, RC_MODE))
        old_vm = host.read(VOICEMAIL_CONF)
        if old_vm is None:
            raise policy.PolicyError("%s does not exist: Asterisk's voicemail is not installed here"
                                     % VOICEMAIL_CONF)
        vm_file = File(VOICEMAIL_CONF, old_vm, plan_voicemail(old_vm, want),
                       attributes_differ=host.attributes_differ(VOICEMAIL_CONF))
        old_mod = host.read(MODULES_CONF)
        new_mod = old_mod
        running, registered = voicemail_state(host)
        try:
            if old_mod is not None and self.odbc_module_present(files=host):
                new_mod, dummy = plan_modules(old_mod, MODULES_CONF)
        except policy.PolicyError:
            if fix:
                raise
        mod_changed = new_mod != old_mod
        if not running:
            raise policy.PolicyError("app_voicemail.so is not running (module show like app_voicemail.so): "
                                     "voicemail cannot send mails; load it (modules.conf) first")
        if not fix and (mod_changed or not registered):
            raise policy.PolicyError(
                "fix_voicemail_module=false, but Debian's %s %s: when it fails to load it unregisters "
                "app_voicemail's VoiceMail applications (core show applications like VoiceMail: %s). "
                "Add 'noload => %s' to [modules] of %s and restart Asterisk, or let this module do it "
                "(fix_voicemail_module=true)." % (
                    ODBC_MODULE, "is autoloaded" if mod_changed else "was loaded",
                    "registered" if registered else "missing", ODBC_MODULE, MODULES_CONF))
        mod_file = File(MODULES_CONF, old_mod, new_mod)
        restart = fix and not registered
        result = dict(msmtprc_changed=rc_file.changed, voicemail_changed=vm_file.changed,
                      modules_changed=mod_file.changed, reloaded=False, restarted=restart,
                      settings=settings, summary=summary(want))
        offset = []
        sent = {}

        def apply(h):
            offset.append(log_offset(ASTERISK_LOG))
            if restart:
                restart_asterisk(h)
            elif vm_file.content_changed:
                run_cli(h, "module reload app_voicemail.so")
                return dict(reloaded=True)
            return {}

        def verify_live(h):
            try:
                problems = verify(h, want, fix)
                if not problems and want["test_to"]:
                    # the test mail proves the new account: refused -> the old files return
                    sent["test_mail"] = send_test(h, want, want["test_to"])
            except MailError as e:
                problems = [str(e)]
            return problems

        def revert(h):
            if vm_file.content_changed:
                run_cli(h, "module reload app_voicemail.so")

        def after(h, result, applied):
            if not want["test_to"]:
                return {}
            if applied:
                return dict(sent)
            if h.check_mode:
                return dict(test_mail="not sent in check mode (would go to %s)" % want["test_to"])
            # nothing to change: the test mail alone (a refusal fails the task, nothing to restore)
            return dict(test_mail=send_test(h, want, want["test_to"]))

        return Plan(result, [rc_file, mod_file, vm_file], changed=restart, apply=apply, verify=verify_live,
                    revert=revert, after=after,
                    said=lambda: log_since(ASTERISK_LOG, offset[0] if offset else None),
                    failure="the new mail settings did not hold; the previous files were restored")

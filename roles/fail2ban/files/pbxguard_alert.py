# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# managed by pbxguard.asterisk (role fail2ban); changes here are overwritten
"""pbxguard-alert: mail the PBX administrators about a fail2ban event.

Installed as /usr/local/lib/pbxguard-alert/pbxguard_alert.py, run as ``/usr/bin/python3 -I /usr/local/lib/pbxguard-alert/pbxguard_alert.py ...``
(isolated: no environment variables, no user site directory).

Run by fail2ban's action pbxguard-alert (action.d/pbxguard-alert.conf) on a
ban (kind "ban": an address banned by a jail) or on a burst of calls the call
policy refused (kind "calls": jail pbxguard-calls, keyed by extension).

At most one mail per address, kind and period: the decision is taken under a
lock on /var/lib/pbxguard-alert/state.json (root only); events within the
period are counted and the next mail says how many were not mailed. The mail
goes out through msmtp's system account (/etc/msmtprc, written by
pbxguard.asterisk.mail), one mail per address, the recipient on msmtp's
command line (never read from headers). The send runs detached, so a slow
SMTP server never holds up fail2ban's ban actions; a failed send is logged to
syslog and gives the reservation back (the next event tries again).

Everything fail2ban passes (jail name, ID, failures, matched log lines)
is treated as attacker-controlled: headers only carry the ID and jail name
reduced to [A-Za-z0-9_.:@+-], the body only printable characters of the
matched lines, cut to a bounded size."""

import argparse
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import syslog
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

STATE_DIR = "/var/lib/pbxguard-alert"
STATE = os.path.join(STATE_DIR, "state.json")
LOCK = os.path.join(STATE_DIR, "lock")
MSMTP = "/usr/bin/msmtp"
# the collection's address rule (plugins/module_utils/_policy.py _EMAIL_RE)
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\Z")
UNSAFE_TOKEN = re.compile(r"[^A-Za-z0-9_.:@+-]")
KINDS = ("ban", "calls")
MAX_LINES = 20
MAX_LINE = 300


def token(value, limit=64):
    """A value for a header or a command shown in the mail: only
    [A-Za-z0-9_.:@+-], at most ``limit`` characters."""
    value = UNSAFE_TOKEN.sub("?", value or "")[:limit]
    return value or "?"


def printable(value, limit=MAX_LINE):
    """One line of body text: printable characters only (no CR, LF or other
    control characters, which could end a line), at most ``limit``."""
    out = "".join(c if c.isprintable() else "?" for c in value or "")
    return out[:limit] + ("..." if len(out) > limit else "")


def log(text):
    syslog.openlog("pbxguard-alert", 0, syslog.LOG_AUTH)
    syslog.syslog(syslog.LOG_WARNING, printable(text, 1000))


class Locked(object):
    def __enter__(self):
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)

    @staticmethod
    def load():
        try:
            with open(STATE) as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    @staticmethod
    def save(state):
        tmp = STATE + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, sort_keys=True)
        os.replace(tmp, STATE)


def reserve(kind, addresses, period, now):
    """The addresses due a mail now, each with the entry it had before
    (events not mailed, time of the last mail); the others count one more
    event not mailed."""
    due = []
    with Locked() as lk:
        state = lk.load()
        for addr in addresses:
            key = "%s %s" % (kind, addr)
            entry = state.get(key) if isinstance(state.get(key), dict) else {}
            if "sent" in entry and now - float(entry["sent"]) < period:
                entry["suppressed"] = int(entry.get("suppressed", 0)) + 1
                state[key] = entry
                continue
            due.append((addr, entry))
            state[key] = {"sent": now, "suppressed": 0}
        lk.save(state)
    return due


def give_back(kind, addr, before, now):
    """A failed send: the previous entry again, this event counted as not mailed."""
    with Locked() as lk:
        state = lk.load()
        key = "%s %s" % (kind, addr)
        if isinstance(state.get(key), dict) and state[key].get("sent") == now:
            entry = dict(before)
            entry["suppressed"] = int(entry.get("suppressed", 0)) + 1 + int(state[key].get("suppressed", 0))
            state[key] = entry
            lk.save(state)


def build(args, addr, before, now, host):
    ident, jail = token(args.id), token(args.jail)
    failures = token(args.failures, 12)
    msg = EmailMessage()
    msg["To"] = addr
    msg["Date"] = formatdate(now, localtime=False)
    msg["Message-ID"] = make_msgid(domain=token(host) if "." in host else None)
    msg["Auto-Submitted"] = "auto-generated"
    lines = []
    if args.kind == "ban":
        msg["Subject"] = "[pbxguard] %s: fail2ban banned %s (jail %s)" % (token(host), ident, jail)
        lines.append("fail2ban on %s banned %s in the jail %s after %s failures."
                     % (token(host), ident, jail, failures))
        lines.append("Lift the ban: fail2ban-client set %s unbanip %s" % (jail, ident))
    else:
        msg["Subject"] = "[pbxguard] %s: %s refused calls from extension %s" % (token(host), failures, ident)
        lines.append("The call policy on %s refused %s calls of extension %s within the jail's findtime"
                     % (token(host), failures, ident))
        lines.append("(fail2ban jail %s; no address is banned: check the phone and its SIP credentials)." % jail)
    lines.append("Time: %s" % formatdate(now, localtime=False))
    if int(before.get("suppressed", 0)):
        lines.append("")
        lines.append("%d more alert(s) of this kind were not mailed since %s (one mail per address every %d s)."
                     % (int(before["suppressed"]), formatdate(float(before.get("sent", now)), localtime=False),
                        args.period))
    matches = [m for m in (args.matches or "").splitlines() if m.strip()]
    if matches:
        lines.append("")
        lines.append("Log lines (the last %d of %d; untrusted text, shortened):" % (min(len(matches), MAX_LINES),
                                                                                    len(matches)))
        lines += ["  " + printable(m) for m in matches[-MAX_LINES:]]
    lines.append("")
    lines.append("-- pbxguard-alert (pbxguard.asterisk role fail2ban); at most one mail per %d s of this kind." % args.period)
    msg.set_content("\n".join(lines) + "\n")
    return msg.as_bytes()


def send(args, due, now):
    host = socket.gethostname()
    for addr, before in due:
        data = build(args, addr, before, now, host)
        try:
            p = subprocess.run(["timeout", "--kill-after=5", "90", MSMTP, "--account", "default", "--", addr],
                               input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
            rc, said = p.returncode, p.stdout.decode("utf-8", "replace")
        except OSError as e:
            rc, said = 127, str(e)
        if rc != 0:
            give_back(args.kind, addr, before, now)
            log("alert mail (%s %s) to %s not sent (msmtp exit %d): %s"
                % (args.kind, token(args.id), addr, rc, " | ".join(said.split("\n"))))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pbxguard-alert", description="Mail the PBX administrators about a fail2ban event.")
    ap.add_argument("--kind", required=True, choices=KINDS)
    ap.add_argument("--jail", default="")
    ap.add_argument("--id", default="")
    ap.add_argument("--failures", default="")
    ap.add_argument("--matches", default="")
    ap.add_argument("--period", type=int, default=3600)
    ap.add_argument("--to", action="append", default=[], help="addresses (space or comma separated)")
    ap.add_argument("--foreground", action="store_true", help="send before returning (not detached)")
    args = ap.parse_args(argv)
    addresses = []
    for part in re.split(r"[\s,]+", " ".join(args.to)):
        if part and part not in addresses:
            if not EMAIL_RE.match(part):
                ap.error("--to: %r is not an e-mail address" % printable(part, 80))
            addresses.append(part)
    if not addresses:
        return 0
    if args.period < 1:
        ap.error("--period: must be 1 or more seconds")
    now = time.time()
    due = reserve(args.kind, addresses, args.period, now)
    if not due:
        return 0
    if not args.foreground:
        # detached: fail2ban waits for this process and its output, not for the SMTP server
        if os.fork() > 0:
            return 0
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
    try:
        send(args, due, now)
    except Exception as e:  # a detached child has no one to tell but syslog
        log("alert mail (%s) failed: %s" % (args.kind, e))
        if not args.foreground:
            os._exit(1)
        raise
    if not args.foreground:
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real SMTP server for the mail lab suite (aiosmtpd), on the controller
side of the lab network:

  STARTTLS port (default 587): STARTTLS required before AUTH and MAIL
  TLS port (default 465):      implicit TLS (SMTPS)
  plain port (default 2525):   no TLS, no AUTH (for tls=none)

AUTH LOGIN and PLAIN against one test account (its password read from a
file). Every accepted message is stored in SPOOL as a JSON file with the
envelope, the EHLO name, whether TLS was used, the login and the raw data.

    smtp_server.py --bind 198.18.33.1 --cert C --key K --user U --password-file F --spool DIR
It prints "ready" on stdout once all listeners accept connections."""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Spool(object):
    def __init__(self, directory, port, implicit_tls=False):
        self.directory = directory
        self.port = port
        self.implicit_tls = implicit_tls

    async def handle_DATA(self, server, session, envelope):
        auth = session.auth_data
        login = None
        if isinstance(auth, LoginPassword):
            login = auth.login.decode("utf-8", "replace")
        record = {
            "port": self.port,
            "peer": session.peer[0] if session.peer else None,
            "helo": session.host_name,
            # aiosmtpd sets session.ssl only after STARTTLS; the SMTPS listener is TLS throughout
            "tls": self.implicit_tls or session.ssl is not None,
            "login": login,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        name = "%.6f-%d.json" % (time.time(), self.port)
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 2.0.0 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticator


class SmtpsController(Controller):
    """Implicit TLS: the readiness probe must speak TLS to the listener."""

    def _trigger_server(self):
        import socket
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.hostname, self.port), 2.0) as s:
            with ctx.wrap_socket(s) as t:
                t.recv(1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--starttls-port", type=int, default=587)
    ap.add_argument("--tls-port", type=int, default=465)
    ap.add_argument("--plain-port", type=int, default=2525)
    ap.add_argument("--ident", default="smtp.lab.test")
    a = ap.parse_args()
    with open(a.password_file) as f:
        password = f.read().rstrip("\n")
    os.makedirs(a.spool, exist_ok=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    auth = make_authenticator(a.user, password)
    controllers = [
        Controller(Spool(a.spool, a.starttls_port), hostname=a.bind, port=a.starttls_port,
                   server_hostname=a.ident, tls_context=ctx, require_starttls=True,
                   authenticator=auth, auth_required=True, auth_require_tls=True),
        SmtpsController(Spool(a.spool, a.tls_port, implicit_tls=True), hostname=a.bind, port=a.tls_port,
                        server_hostname=a.ident, ssl_context=ctx,
                        authenticator=auth, auth_required=True,
                        auth_require_tls=False),  # the whole connection is TLS
        Controller(Spool(a.spool, a.plain_port), hostname=a.bind, port=a.plain_port,
                   server_hostname=a.ident),
    ]
    for c in controllers:
        c.start()
    print("ready", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *x: done.set())
    signal.signal(signal.SIGINT, lambda *x: done.set())
    done.wait()
    for c in controllers:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

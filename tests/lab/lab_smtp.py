# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's real SMTP server (aiosmtpd, tests/lab/clients/smtp_server.py) on
the controller side of the lab network, shared by the mail and the fail2ban
alert suites: a throw-away CA and server certificate, a test account with a
password msmtp must quote right, the received mails read back from the spool."""
import email
import email.policy
import glob
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

from conftest import CLIENTS, ROOT

CA_ON_HOST = "/etc/pbxguard-lab-smtp-ca.pem"
SMTP_NAME = "smtp.lab.test"
USER = "vm@lab.test"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


class Smtp(object):
    def __init__(self, lab):
        self.dir = tempfile.mkdtemp(prefix="pbxm-smtp-", dir=os.path.join(ROOT, ".cache"))
        d = self.dir
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2", "-subj", "/CN=pbxguard lab CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d + "/srv.key", "-out", d + "/srv.csr", "-subj", "/CN=" + SMTP_NAME)
        with open(d + "/ext", "w") as f:
            f.write("subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
                    % (SMTP_NAME, lab.controller_ip))
        openssl("x509", "-req", "-in", d + "/srv.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-out", d + "/srv.pem", "-days", "2", "-extfile", d + "/ext")
        # a password msmtp must quote right: double quote, backslash, space
        self.password = 'Sm"tp\\ %s!' % secrets.token_hex(6)
        with open(d + "/pw", "w") as f:
            f.write(self.password + "\n")
        self.spool = d + "/spool"
        self.ca = d + "/ca.pem"
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, ".venv", "bin", "python"), os.path.join(CLIENTS, "smtp_server.py"),
             "--bind", lab.controller_ip, "--cert", d + "/srv.pem", "--key", d + "/srv.key",
             "--user", USER, "--password-file", d + "/pw", "--spool", self.spool],
            stdout=subprocess.PIPE, stderr=open(d + "/server.log", "w"), text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", "SMTP server did not start: %s" % open(d + "/server.log").read()

    def mails(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.spool, "*.json"))):
            with open(path) as f:
                out.append(json.load(f))
        return out

    def wait_for(self, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.mails()
            if len(m) >= count:
                return m
            time.sleep(0.3)
        return self.mails()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def start(lab):
    """The server, its CA trusted on the host (CA_ON_HOST) and its name in the
    host's /etc/hosts."""
    server = Smtp(lab)
    with open(server.ca) as f:
        lab.sh("cat > %s" % CA_ON_HOST, input=f.read())
    lab.sh("grep -q ' %s$' /etc/hosts || echo '%s %s' >> /etc/hosts" % (SMTP_NAME, lab.controller_ip, SMTP_NAME))
    return server


def parse(record):
    return email.message_from_string(record["data"], policy=email.policy.default)

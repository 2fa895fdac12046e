# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alert script of role fail2ban (roles/fail2ban/files/pbxguard_alert.py):
cleaning of what fail2ban passes, the mail it builds, the rate limit."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email
import email.policy
import importlib.machinery
import importlib.util
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "fail2ban", "files", "pbxguard_alert.py")


@pytest.fixture
def alert(tmp_path):
    loader = importlib.machinery.SourceFileLoader("pbxguard_alert", SCRIPT)
    spec = importlib.util.spec_from_loader("pbxguard_alert", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    mod.STATE_DIR = str(tmp_path / "state")
    mod.STATE = os.path.join(mod.STATE_DIR, "state.json")
    mod.LOCK = os.path.join(mod.STATE_DIR, "lock")
    return mod


class Args(object):
    def __init__(self, **kw):
        self.kind, self.jail, self.id, self.failures, self.matches, self.period = "ban", "asterisk", "", "3", "", 3600
        self.__dict__.update(kw)


def test_token_and_printable(alert):
    assert alert.token("198.51.100.7") == "198.51.100.7"
    assert alert.token("2001:db8::1") == "2001:db8::1"
    assert alert.token("a\r\nBcc: x@evil.test") == "a??Bcc:?x@evil.test"
    assert alert.token("") == "?" and len(alert.token("x" * 500)) == 64
    assert alert.printable("a\rb\nc\x00d\u2028e") == "a?b?c?d?e"
    assert alert.printable("x" * 400) == "x" * 300 + "..."


def test_mail_headers_cannot_be_injected(alert):
    args = Args(id="1.2.3.4\r\nSubject: pwned", jail="asterisk\nBcc: j@evil.test",
                matches="one\r\nBcc: m@evil.test\n\nX-Injected: yes")
    data = alert.build(args, "ops@example.org", {}, 1700000000.0, "pbx1.example.org")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert set(msg.keys()) == {"To", "Date", "Message-ID", "Auto-Submitted", "Subject", "MIME-Version",
                               "Content-Type", "Content-Transfer-Encoding"}
    assert msg["To"] == "ops@example.org"
    assert msg["Subject"] == "[pbxguard] pbx1.example.org: fail2ban banned 1.2.3.4??Subject:?pwned (jail asterisk?Bcc:?j@evil.test)"
    body = msg.get_content()
    assert "\n  one\n  Bcc: m@evil.test\n  X-Injected: yes\n" in body


def test_calls_mail_and_the_count_of_alerts_not_mailed(alert):
    args = Args(kind="calls", jail="pbxguard-calls", id="2004", failures="5", period=600)
    data = alert.build(args, "ops@example.org", {"suppressed": 2, "sent": 1699999000.0}, 1700000000.0, "pbx1")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == "[pbxguard] pbx1: 5 refused calls from extension 2004"
    assert "2 more alert(s) of this kind were not mailed since" in msg.get_content()


def test_one_mail_per_address_kind_and_period(alert):
    assert [a for a, e in alert.reserve("ban", ["a@example.org", "b@example.org"], 3600, 1000.0)] == [
        "a@example.org", "b@example.org"]
    assert alert.reserve("ban", ["a@example.org", "b@example.org"], 3600, 2000.0) == []
    # another kind and another address are not held back
    assert [a for a, e in alert.reserve("calls", ["a@example.org"], 3600, 2000.0)] == ["a@example.org"]
    assert [a for a, e in alert.reserve("ban", ["c@example.org"], 3600, 2000.0)] == ["c@example.org"]
    # the period over: due again, with the count of what was not mailed
    due = alert.reserve("ban", ["a@example.org"], 3600, 4601.0)
    assert due == [("a@example.org", {"sent": 1000.0, "suppressed": 1})]
    assert oct(os.stat(alert.STATE).st_mode & 0o777) == "0o600"
    assert oct(os.stat(alert.STATE_DIR).st_mode & 0o777) == "0o700"


def test_a_failed_send_gives_the_reservation_back(alert):
    alert.reserve("ban", ["a@example.org"], 3600, 1000.0)
    alert.give_back("ban", "a@example.org", {}, 1000.0)
    due = alert.reserve("ban", ["a@example.org"], 3600, 1001.0)
    assert due == [("a@example.org", {"suppressed": 1})]


def test_bad_address_refused(alert, capsys):
    with pytest.raises(SystemExit):
        alert.main(["--kind", "ban", "--to", "ops@example.org x\nBcc"])
    assert "is not an e-mail address" in capsys.readouterr().err
    assert alert.main(["--kind", "ban", "--to", ""]) == 0

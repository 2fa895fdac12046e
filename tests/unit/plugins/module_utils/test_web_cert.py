# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_web.check_cert: what it refuses before anything is written (web and sip_transport TLS)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _web as web


def test_missing_files_named_by_option(tmp_path):
    got = web.check_cert(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    assert got == ["cert_file: %s does not exist on the host" % (tmp_path / "c.pem"),
                   "key_file: %s does not exist on the host" % (tmp_path / "k.pem")]


def test_directory_is_not_a_key_file(tmp_path):
    # found by fuzzing: a directory passed the mode-bit check and the message
    # then blamed the certificate ("not PEM") instead of the path
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    os.chmod(str(cert), 0o644)
    keydir = tmp_path / "keys"
    keydir.mkdir()
    got = web.check_cert(str(cert), str(keydir))
    assert got == ["key_file: %s is not a regular file (give the path of the PEM file)" % keydir]


def test_fifo_is_not_a_cert_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    key = tmp_path / "k.pem"
    key.write_text("x")
    os.chmod(str(key), 0o640)
    got = web.check_cert(str(fifo), str(key))
    assert got[0] == "cert_file: %s is not a regular file (give the path of the PEM file)" % fifo

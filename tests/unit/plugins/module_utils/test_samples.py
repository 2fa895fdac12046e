# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _samples as samples
from ansible_collections.pbxguard.asterisk.plugins.module_utils import _audit as audit
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile

CORPUS = sorted(glob.glob("/var/cache/pbxguard-lab/images/*/rootfs/etc/asterisk"))


def _cfgs(data, path):
    return [ConfigFile.from_bytes(data, path)]


@pytest.mark.skipif(not CORPUS, reason="needs the lab image corpus (make image)")
def test_debian_samples_removed_and_audit_clean():
    d = CORPUS[-1]
    iax = open(os.path.join(d, "iax.conf"), "rb").read()
    vm = open(os.path.join(d, "voicemail.conf"), "rb").read()
    assert "IAX-NO-AUTH" in [f["id"] for f in audit.audit_iax(_cfgs(iax, "iax.conf"))]
    assert "VM-TRIVIAL-PIN" in [f["id"] for f in audit.audit_voicemail(_cfgs(vm, "voicemail.conf"))]
    new_iax, r1 = samples.remove_iax_samples(iax, "iax.conf")
    new_vm, r2 = samples.remove_voicemail_samples(vm, "voicemail.conf")
    assert r1 == ["iax.conf [guest]"]
    assert r2 == ["1234@default", "1234@devices (alias in [myaliases])", "1234@other"]
    assert audit.audit_iax(_cfgs(new_iax, "iax.conf")) == []
    assert audit.audit_voicemail(_cfgs(new_vm, "voicemail.conf")) == []
    # only the objects went: every comment line is still there, [general] untouched
    for old, new in ((iax, new_iax), (vm, new_vm)):
        old_comments = [ln for ln in old.splitlines() if ln.lstrip().startswith(b";")]
        assert old_comments == [ln for ln in new.splitlines() if ln.lstrip().startswith(b";")]
    assert ConfigFile.from_bytes(new_vm).first("general").get("format") == "wav49|gsm|wav"
    assert ConfigFile.from_bytes(new_vm).first("default") is not None
    # idempotent
    assert samples.remove_iax_samples(new_iax) == (new_iax, [])
    assert samples.remove_voicemail_samples(new_vm) == (new_vm, [])


@pytest.mark.parametrize("text", [
    b"[guest]\ntype=user\ncontext=public\nsecret=Str0ng-Secret\n",   # given a secret: kept
    b"[guest]\ntype=user\ninkeys=pbx\n",                             # RSA keys: kept
    b"[guest]\ntype=friend\nhost=dynamic\n",                         # not the sample user
    b"[visitor]\ntype=user\ncontext=public\n",                       # another name
])
def test_iax_edited_objects_kept(text):
    assert samples.remove_iax_samples(text) == (text, [])
    assert samples.plan_iax(text)[2] == ([] if b"[guest]" not in text else ["iax.conf [guest]: differs from Debian's sample (edited by hand)"])


@pytest.mark.parametrize("text", [
    b"[default]\n1234 => 9183,Example Mailbox,root@localhost\n",     # PIN changed from the phone
    b"[default]\n1234 => 4242,Front Desk,desk@example.org\n",          # reused for a real box
    b"[sales]\n1234 => 4242,Example Mailbox,root@localhost\n",        # another context
])
def test_voicemail_edited_boxes_kept(text):
    assert samples.remove_voicemail_samples(text) == (text, [])


def test_voicemail_byte_exact_only():
    # a space after a comma, a trailing comment, CRLF: Asterisk reads the same box, but
    # it is not Debian's bytes any more, so someone wrote it: kept and reported
    text = b"[general]\nformat=wav\n[default]\n1234 => 4242, Example Mailbox, root@localhost\n1008 => 8474,A\n" \
           b"[other]\n; intro\n1234 => 5678,Company2 User,root@localhost\n" \
           b"[myaliases]\n1234@devices => 1234@default ; desk\n"
    new, removed, kept = samples.plan_voicemail(text)
    assert removed == ["1234@other"]
    assert [k.split(" (")[0] for k in kept] == ["1234@default", "1234@devices"]
    assert new == text.replace(b"1234 => 5678,Company2 User,root@localhost\n", b"")
    crlf = b"[default]\r\n1234 => 4242,Example Mailbox,root@localhost\r\n"
    assert samples.plan_voicemail(crlf)[:2] == (crlf, [])


def test_iax_guest_byte_exact_and_continued_elsewhere():
    sample = b'[guest]\ntype=user\ncontext=public\ncallerid="Guest IAX User"\n'
    # comments inside the object do not make it an edit; they stay in the file
    with_comment = sample.replace(b"type=user\n", b"type=user\n; Debian's note\n")
    new, removed, kept = samples.plan_iax(b"[general]\nbindport=4569\n\n" + with_comment + b"\n;[dundi]\n")
    assert removed == ["iax.conf [guest]"] and kept == []
    assert new == b"[general]\nbindport=4569\n\n;[dundi]\n"
    # a [guest](+) in an included file continues the sample: kept
    assert samples.plan_iax(sample, other_names={"guest"})[1] == []
    edited = sample.replace(b"context=public", b"context=public ")   # one byte
    new, removed, kept = samples.plan_iax(edited)
    assert (new, removed) == (edited, []) and "edited by hand" in kept[0]


def test_live_leftovers():
    iax = "Username         Secret       Authen      Def.Context      A/C  Codec Pref\nguest            -            md5,plain   public           No   Host\n"
    vm = "Context    Mbox  User                      Zone       NewMsg\nother      1234  Company2 User                        0\n"
    removed = ["/etc/asterisk/iax.conf [guest]", "1234@default", "1234@other"]
    assert samples.live_leftovers(removed, iax, vm) == [
        "IAX user 'guest' still loaded after its removal", "sample mailbox 1234@other still loaded after its removal"]
    assert samples.live_leftovers(removed, "Username Secret\n", "Context Mbox\n") == []

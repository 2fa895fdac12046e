# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab suite for pbxguard.asterisk.samples (scenario extension, after
test_extension.py): Debian's own shipped files (/usr/share/asterisk/conf/samples
on the host, the bytes asterisk-config installs as /etc/asterisk) are put back,
one sample object is edited by hand, and the module must remove exactly the
untouched samples - proven by what the running Asterisk still loads
(iax2 show users, voicemail show users) and by the audit."""
import hashlib

import pytest

SAMPLES = "/usr/share/asterisk/conf/samples"
IAX = "/etc/asterisk/iax.conf"
VM = "/etc/asterisk/voicemail.conf"
OTHER_SAMPLE = "1234 => 5678,Company2 User,root@localhost"
OTHER_EDITED = "1234 => 5678,Company2 User,ops@example.org"   # a hand edit: same PIN, own address


def task(**kw):
    return {"name": "samples", "pbxguard.asterisk.samples": kw}


def audit(lab):
    r = lab.playbook([{"name": "audit", "pbxguard.asterisk.audit": {}}])
    assert not r.failed, r.raw[-2000:]
    return r.last["findings"]


def live(lab):
    users = [ln.split()[0] for ln in lab.cli("iax2 show users").splitlines()[1:] if ln.split()]
    boxes = set()
    for ln in lab.cli("voicemail show users").splitlines()[1:]:
        p = ln.split()
        if len(p) >= 2 and p[1].isdigit():
            boxes.add("%s@%s" % (p[1], p[0]))
    return users, boxes


def put_back_debian(lab, edit_iax=None, edit_vm=None):
    """Debian's shipped iax.conf / voicemail.conf, optionally edited by hand (sed), reloaded."""
    lab.sh("cp %s/iax.conf.sample %s && cp %s/voicemail.conf.sample %s && chown asterisk:asterisk %s %s"
           % (SAMPLES, IAX, SAMPLES, VM, IAX, VM))
    if edit_iax:
        lab.sh("sed -i '%s' %s" % (edit_iax, IAX))
    if edit_vm:
        lab.sh("sed -i '%s' %s" % (edit_vm, VM))
    lab.cli("iax2 reload")
    lab.cli("voicemail reload")


@pytest.fixture(scope="module", autouse=True)
def debian_files(lab):
    # the host's /etc/asterisk is Debian's sample set byte for byte (checked once, so the
    # suite does prove "as Debian ships it", not a copy of its own)
    for name in ("iax.conf", "voicemail.conf"):
        assert lab.read("%s/%s.sample" % (SAMPLES, name)), "Debian's sample %s is missing" % name
    yield


def test_untouched_samples_removed_hand_edit_kept(lab):
    put_back_debian(lab, edit_vm="s/^%s$/%s/" % (OTHER_SAMPLE, OTHER_EDITED))
    users, boxes = live(lab)
    assert "guest" in users and {"1234@default", "1234@other"} <= boxes
    before = {p: lab.sha(p) for p in (IAX, VM)}

    # check mode predicts exactly and writes nothing
    r = lab.playbook([task(state="absent")], check=True, diff=True)
    assert not r.failed and r.last["changed"], r.raw[-2000:]
    predicted = r.last["removed"]
    assert predicted == [IAX + " [guest]", "1234@default", "1234@devices (alias in [myaliases])"]
    assert [k.split(" (")[0] for k in r.last["kept"]] == ["1234@other"]
    assert {p: lab.sha(p) for p in (IAX, VM)} == before
    assert "=> 4242" not in r.raw and "=> 5678" not in r.raw   # PINs masked in the diff

    r = lab.playbook([task(state="absent")])
    assert not r.failed, r.raw[-2000:]
    assert r.last["removed"] == predicted and r.last["reloaded"] == ["iax", "voicemail"]
    users, boxes = live(lab)
    assert "guest" not in users
    assert "1234@default" not in boxes and "1234@other" in boxes   # the edited box is still live
    vm = lab.read(VM).decode()
    assert OTHER_EDITED + "\n" in vm and "4242,Example Mailbox" not in vm
    # only object lines went: every comment line of Debian's files is still there
    for path in (IAX, VM):
        shipped = lab.read("%s/%s.sample" % (SAMPLES, path.rsplit("/", 1)[1])).decode()
        now = lab.read(path).decode()
        assert [ln for ln in shipped.splitlines() if ln.startswith(";")] == \
            [ln for ln in now.splitlines() if ln.startswith(";")]
    # the audit: the sample findings are gone; the edited box is still guessable and its
    # fix is its own PIN (not pbx_samples, which would never touch it)
    found = [(f["id"], f["message"], f["fix"]) for f in audit(lab) if f["id"] in ("IAX-NO-AUTH", "VM-TRIVIAL-PIN")]
    assert len(found) == 1 and "1234@other" in found[0][1] and found[0][2].startswith("pbx_extensions.list[].pin")

    again = lab.playbook([task(state="absent")])
    assert not again.failed and again.last["changed"] is False and again.last["removed"] == []


def test_hand_edited_guest_kept_and_still_live(lab):
    # one trailing space on one line of [guest]: Asterisk reads the same user, but someone wrote it
    put_back_debian(lab, edit_iax="s/^context=public$/context=public /")
    before = lab.sha(IAX)
    r = lab.playbook([task(state="absent")])
    assert not r.failed, r.raw[-2000:]
    assert IAX + " [guest]" not in r.last["removed"]
    assert any(k.startswith(IAX + " [guest]") and "edited by hand" in k for k in r.last["kept"])
    assert lab.sha(IAX) == before and "guest" in live(lab)[0]
    f = [f for f in audit(lab) if f["id"] == "IAX-NO-AUTH"]
    assert len(f) == 1 and not f[0]["fix"].startswith("pbx_samples")


def test_present_lists_and_changes_nothing(lab):
    put_back_debian(lab)
    before = {p: lab.sha(p) for p in (IAX, VM)}
    r = lab.playbook([task(state="present")])
    assert not r.failed and r.last["changed"] is False
    assert r.last["present"] == [IAX + " [guest]", "1234@default", "1234@devices (alias in [myaliases])", "1234@other"]
    assert {p: lab.sha(p) for p in (IAX, VM)} == before
    assert hashlib.sha256(lab.read(IAX)).hexdigest() == hashlib.sha256(lab.read(SAMPLES + "/iax.conf.sample")).hexdigest()

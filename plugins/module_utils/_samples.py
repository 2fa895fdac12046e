# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asterisk's shipped sample objects that are live weaknesses on a fresh
Debian install: the IAX ``[guest]`` user without any secret (anyone may call
into its context) and the sample voicemail boxes with their well-known PINs.

Pure functions: file bytes in, file bytes out plus what was removed. An object
is removed only when it is exactly the sample (same name, same fields); a box
or user someone edited is left alone, so nothing hand-made is ever lost."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import ConfigFile, OPTION

# voicemail.conf of Asterisk's configs/samples (and Debian's /etc/asterisk):
# (context, key): value, compared with spaces around commas removed.
VOICEMAIL_SAMPLES = {
    ("default", "1234"): "4242,Example Mailbox,root@localhost",
    ("other", "1234"): "5678,Company2 User,root@localhost",
    ("myaliases", "1234@devices"): "1234@default",
}
# iax.conf: [guest] type=user with no secret and no keys.
IAX_GUEST = "guest"


def _norm(value):
    return ",".join(p.strip() for p in (value or "").split(","))


def remove_iax_samples(data, path="iax.conf"):
    """(new bytes, ['iax.conf [guest]']) - the sample guest user goes when it
    has no secret and no inkeys (then it authenticates nobody)."""
    if not data:
        return data, []
    cfg = ConfigFile.from_bytes(data, path)
    removed = []
    for sec in list(cfg.sections):
        if (sec.name == IAX_GUEST and not sec.is_template and (sec.get("type") or "") == "user"
                and not sec.get("secret") and not sec.get("inkeys")):
            cfg.remove_section(sec)
            removed.append("%s [%s]" % (path, sec.name))
    if not removed:
        return data, []
    return cfg.to_bytes(), removed


def remove_voicemail_samples(data, path="voicemail.conf"):
    """(new bytes, ['1234@default', ...]) - sample boxes and the sample alias
    whose value is still exactly the shipped one; a context left without any
    option line by this goes too."""
    if not data:
        return data, []
    cfg = ConfigFile.from_bytes(data, path)
    removed = []
    for sec in list(cfg.sections):
        touched = False
        for ln in list(sec.lines):
            if ln.kind != OPTION:
                continue
            sample = VOICEMAIL_SAMPLES.get((sec.name, ln.key))
            if sample is not None and _norm(ln.value) == sample:
                sec.lines.remove(ln)
                removed.append("%s@%s" % (ln.key, sec.name) if "@" not in ln.key else "%s (alias in [%s])"
                               % (ln.key, sec.name))
                touched = True
        if touched and not sec.option_lines() and sec.name != "default":
            cfg.remove_section(sec)
    if not removed:
        return data, []
    return cfg.to_bytes(), removed


def live_leftovers(removed, iax_users_text, voicemail_text):
    """Problems when removed samples are still loaded: ``iax2 show users`` and
    ``voicemail show users`` outputs."""
    problems = []
    iax_names = set(line.split()[0] for line in (iax_users_text or "").splitlines() if line.split())
    boxes = set()
    for line in (voicemail_text or "").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            boxes.add("%s@%s" % (parts[1], parts[0]))
    for r in removed:
        if r.endswith("[%s]" % IAX_GUEST) and IAX_GUEST in iax_names:
            problems.append("IAX user '%s' still loaded after its removal" % IAX_GUEST)
        elif "@" in r and " " not in r and r in boxes:
            problems.append("sample mailbox %s still loaded after its removal" % r)
    return problems

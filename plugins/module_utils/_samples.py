# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asterisk's shipped sample objects that are live weaknesses on a fresh
Debian install: the IAX ``[guest]`` user without any secret (anyone may call
into its context) and the sample voicemail boxes with their well-known PINs.

An object is removed only when its lines are byte for byte the ones Debian's
asterisk-config ships (the same text as Asterisk's configs/samples: the
header and every non-comment line of the object, with their spacing and line
endings). One changed byte - a PIN changed from the phone, a secret added, a
trailing comment, CRLF line endings - and the object is a hand edit: it is
kept and reported as kept, never lost. Comments and blank lines stay.

Which sample objects are live on Debian's asterisk-config 22 (every
uncommented account of /etc/asterisk, read from the lab image): the IAX user
``[guest]`` and the voicemail boxes 1234@default, 1234@other and the alias
1234@devices. users.conf holds only ``[general]`` (defaults for users that
do not exist), res_odbc.conf's sample connections are ``enabled => no``:
neither defines anything that can log in, so neither is touched.

The pure functions take file bytes and give file bytes; ``SamplesChange``
runs the removal through the transaction (module ``samples``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_config import (
    ConfigFile, BLANK, COMMENT, resolve_include)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    ASTERISK_LOG, log_offset, log_since, run_cli)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError
from ansible_collections.pbxguard.asterisk.plugins.module_utils._transaction import Change, File, Plan

# iax.conf: whole sections, (name, exact bytes of the header and its object lines)
IAX_SECTIONS = (
    ("guest", '[guest]\ntype=user\ncontext=public\ncallerid="Guest IAX User"\n'),
)
IAX_GUEST = "guest"
# voicemail.conf: single lines, (context, exact header, exact line, what it is)
VOICEMAIL_LINES = (
    ("default", "[default]\n", "1234 => 4242,Example Mailbox,root@localhost\n", "1234@default"),
    ("myaliases", "[myaliases]\n", "1234@devices => 1234@default\n", "1234@devices (alias in [myaliases])"),
    ("other", "[other]\n", "1234 => 5678,Company2 User,root@localhost\n", "1234@other"),
)


def _object_text(sec):
    """The header and every line Asterisk reads as part of the section."""
    return sec.header.raw + "".join(ln.raw for ln in sec.lines if ln.kind not in (BLANK, COMMENT))


def is_sample_section(sec, path):
    """``sec`` of ``path`` is one of Debian's iax.conf samples, byte for byte."""
    return os.path.basename(path or "") == "iax.conf" and any(
        sec.name == name and _object_text(sec) == text for name, text in IAX_SECTIONS)


def is_sample_line(sec, ln, path):
    """Line ``ln`` of section ``sec`` is one of Debian's voicemail.conf samples."""
    return os.path.basename(path or "") == "voicemail.conf" and any(
        sec.name == context and sec.header.raw == header and ln.raw == text
        for context, header, text, dummy in VOICEMAIL_LINES)


def plan_iax(data, path="iax.conf", other_names=()):
    """(new bytes, removed, kept) for iax.conf. ``other_names``: section
    names of the files it includes (a ``[guest](+)`` there continues the
    sample: then it is not the sample any more)."""
    if not data:
        return data, [], []
    cfg = ConfigFile.from_bytes(data, path)
    removed, kept = [], []
    for name, text in IAX_SECTIONS:
        secs = [s for s in cfg.sections if s.name == name]
        if not secs:
            continue
        label = "%s [%s]" % (path, name)
        if len(secs) == 1 and name not in other_names and is_sample_section(secs[0], "iax.conf"):
            cfg.remove_section(secs[0])
            removed.append(label)
        else:
            kept.append("%s: differs from Debian's sample (edited by hand)" % label)
    if not removed:
        return data, [], kept
    return cfg.to_bytes(), removed, kept


def plan_voicemail(data, path="voicemail.conf"):
    """(new bytes, removed, kept) for voicemail.conf: the sample box lines go,
    their context headers and comments stay."""
    if not data:
        return data, [], []
    cfg = ConfigFile.from_bytes(data, path)
    removed, kept = [], []
    for context, header, text, label in VOICEMAIL_LINES:
        key = text.split("=>", 1)[0].strip()
        for sec in cfg.sections:
            if sec.name != context:
                continue
            for ln in sec.option_lines(key):
                if is_sample_line(sec, ln, "voicemail.conf"):
                    sec.lines.remove(ln)
                    removed.append(label)
                else:
                    kept.append("%s (%s:%d): differs from Debian's sample (edited by hand)" % (label, path, ln.number))
    if not removed:
        return data, [], kept
    return cfg.to_bytes(), removed, kept


def remove_iax_samples(data, path="iax.conf"):
    """(new bytes, removed) - for the extension module's remove_samples."""
    new, removed, dummy = plan_iax(data, path)
    return new, removed


def remove_voicemail_samples(data, path="voicemail.conf"):
    new, removed, dummy = plan_voicemail(data, path)
    return new, removed


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


def _included_names(host, path, data):
    """Section names of the files ``path`` includes (recursively), not its own."""
    names, seen = set(), set([path])

    def visit(p, d):
        for inc in ConfigFile.from_bytes(d, p).includes():
            for q in resolve_include(os.path.dirname(p), inc.argument):
                if q in seen:
                    continue
                seen.add(q)
                qd = host.read(q) if host.isfile(q) else None
                if qd is None:
                    continue
                names.update(s.name for s in ConfigFile.from_bytes(qd, q).sections)
                visit(q, qd)
    if data:
        visit(path, data)
    return names


RELOAD = {"iax": "iax2 reload", "voicemail": "voicemail reload"}


class SamplesChange(Change):
    """``state: absent``: Debian's sample objects out of iax.conf and
    voicemail.conf (byte-exact, see above), the two Asterisk modules
    reloaded, the live users/boxes read back; ``present`` changes nothing
    (the samples stay, as Debian ships them)."""

    name = "samples"

    def validate(self, params):
        d = params["asterisk_dir"]
        if not d or not os.path.isabs(d):
            raise PolicyError("asterisk_dir: must be an absolute path, got %r" % d)
        return dict(state=params["state"], backup=params["backup"],
                    paths=dict(iax=os.path.join(d, "iax.conf"), voicemail=os.path.join(d, "voicemail.conf")))

    def plan(self, host, spec):
        paths = spec["paths"]
        old = dict((k, host.read(p) if host.isfile(p) else None) for k, p in paths.items())
        new = dict(old)
        removed, kept = [], []
        if spec["state"] == "absent":
            new["iax"], r1, k1 = plan_iax(old["iax"], paths["iax"], _included_names(host, paths["iax"], old["iax"]))
            new["voicemail"], r2, k2 = plan_voicemail(old["voicemail"], paths["voicemail"])
            removed, kept = r1 + r2, k1 + k2
        else:  # present: nothing changes; say what a removal would take
            removed_if = plan_iax(old["iax"], paths["iax"])[1] + plan_voicemail(old["voicemail"], paths["voicemail"])[1]
        files = [File(paths[k], old[k], new[k], backup=spec["backup"]) for k in ("iax", "voicemail")]
        kinds = [k for k, f in zip(("iax", "voicemail"), files) if f.changed]
        offset, said = [], []

        def apply(h):
            offset.append(log_offset(ASTERISK_LOG))
            for k in kinds:
                said.append(run_cli(h, RELOAD[k], timeout=60).strip())
            return dict(reloaded=list(kinds))

        # a box of the same number that another line still defines is not a leftover
        still = set()
        if new["voicemail"]:
            for sec in ConfigFile.from_bytes(new["voicemail"], paths["voicemail"]).sections:
                still.update("%s@%s" % (ln.key, sec.name) for ln in sec.option_lines())

        def verify(h):
            iax = run_cli(h, "iax2 show users") if "iax" in kinds else ""
            vm = run_cli(h, "voicemail show users") if "voicemail" in kinds else ""
            return live_leftovers([r for r in removed if r not in still], iax, vm)

        def revert(h):
            for k in kinds:
                run_cli(h, RELOAD[k], timeout=60)

        result = dict(removed=removed, kept=kept, reloaded=[])
        if spec["state"] == "present":
            result["present"] = removed_if
        if removed:
            result["summary"] = "samples: removed %s" % ", ".join(removed)
        elif spec["state"] == "absent":
            result["summary"] = "samples: none of Debian's sample objects left to remove"
        else:
            result["summary"] = "samples: kept as shipped (%d sample objects)" % len(removed_if)
        return Plan(result, files,
                    apply=apply, verify=verify, revert=revert,
                    said=lambda: log_since(ASTERISK_LOG, offset[0] if offset else None) or [x for x in said if x],
                    failure="Asterisk still has the removed sample objects; the previous files were restored and reloaded")

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin pbxguard.asterisk.softphone_qr: per extension a QR code PNG
(segno) on the controller that a softphone imports without typing; nothing
runs on the host. The secret goes only into the PNG (0600); the result names
the files and says nothing of what is in them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import io
import os
import stat

from ansible.plugins.action import ActionBase

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _softphone as softphone
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError

HAS_SEGNO = importlib.util.find_spec("segno") is not None
OPTIONS = ("extensions", "server", "port", "format", "dest_dir", "voicemail")


def qr_png(payload):
    """PNG bytes of the QR code of ``payload`` (the same bytes for the same payload)."""
    import segno
    buf = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buf, kind="png", scale=5, border=4)
    return buf.getvalue()


def write_private(path, data):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path + ".tmp", 0o600)
    os.rename(path + ".tmp", path)


def make_private_dirs(path):
    """``path`` and every missing parent, each 0700 (os.makedirs gives only the last its mode)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for d in reversed(missing):
        os.mkdir(d, 0o700)
        os.chmod(d, 0o700)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        unknown = sorted(set(args) - set(OPTIONS))
        try:
            if unknown:
                raise PolicyError("unknown option(s) %s; known: %s" % (", ".join(unknown), ", ".join(OPTIONS)))
            spec = softphone.validate(args)
        except PolicyError as e:
            result.update(failed=True, msg=str(e))
            return result
        if not HAS_SEGNO:
            result.update(failed=True, msg="softphone_qr needs segno on the controller (pip install segno)")
            return result
        dest = os.path.expanduser(spec["dest_dir"])
        if not os.path.isabs(dest) and self._loader is not None:
            dest = os.path.join(self._loader.get_basedir(), dest)
        dest = os.path.normpath(dest)
        if os.path.exists(dest) and not os.path.isdir(dest):
            result.update(failed=True, msg="dest_dir: %s exists and is not a directory" % dest)
            return result
        check_mode = self._play_context.check_mode
        files, changed = {}, []
        for ext in spec["extensions"]:
            path = os.path.join(dest, "%s.png" % ext["number"])
            png = qr_png(softphone.grandstream_wave(ext, spec["server"], spec["port"], spec["voicemail"]))
            files[ext["number"]] = path
            try:
                with open(path, "rb") as f:
                    same = f.read() == png and stat.S_IMODE(os.stat(path).st_mode) == 0o600
            except (IOError, OSError):
                same = False
            if same:
                continue
            changed.append(ext["number"])
            if not check_mode:
                make_private_dirs(dest)
                write_private(path, png)
        result.update(changed=bool(changed), files=files, written=changed, format=spec["format"])
        result["summary"] = result["msg"] = "%d QR code(s) in %s (%s, mode 0600)%s: %s" % (
            len(files), dest, spec["format"], " - would write" if check_mode and changed else "",
            ", ".join(sorted(files.values())))
        return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File helpers shared by the modules: read, atomic write with Asterisk's
ownership and mode, optional backup, and diff text with secrets masked."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import tempfile

# the masker is its own concern (_masking); re-exported for the modules that still take it from here
from ansible_collections.pbxguard.asterisk.plugins.module_utils._masking import Masker, SECRET_KEYS  # pylint: disable=unused-import

ASTERISK_OWNER = "asterisk"
ASTERISK_GROUP = "asterisk"
ASTERISK_MODE = 0o640


def read_bytes(path):
    """Content of ``path`` or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except (IOError, OSError) as e:
        if getattr(e, "errno", None) == 2:
            return None
        raise


class LocalFiles(object):
    """The read side of the local file system, the one way module_utils read
    the host's files. ``_transaction.Host`` is this plus commands; parsers
    that follow includes (``_asterisk_config.load_tree``) and the port plan
    take it as ``files`` so a planner given a fake host reads the fake's
    files, never the disk behind it."""

    def read(self, path):
        return read_bytes(path)

    def exists(self, path):
        return os.path.exists(path)

    def isfile(self, path):
        return os.path.isfile(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def stat(self, path):
        try:
            return os.stat(path)
        except OSError:
            return None

    def glob(self, pattern):
        import glob
        return sorted(glob.glob(pattern))

    def listdir(self, path):
        return sorted(os.listdir(path))

    def realpath(self, path):
        return os.path.realpath(path)


LOCAL = LocalFiles()


def _ids(owner, group):
    uid = pwd.getpwnam(owner).pw_uid if owner is not None else -1
    gid = grp.getgrnam(group).gr_gid if group is not None else -1
    return uid, gid


def write_atomic(module, path, data, owner=ASTERISK_OWNER, group=ASTERISK_GROUP,
                 mode=ASTERISK_MODE, backup=False):
    """Write ``data`` (bytes) to ``path`` atomically: a temp file in the same
    directory, fsync, owner/group/mode set before it becomes visible, then
    ``module.atomic_move``. Returns the backup file name or None."""
    backup_file = None
    if backup and os.path.exists(path):
        backup_file = module.backup_local(path)
        # a backup of a file with secrets must be as private as the file
        os.chmod(backup_file, mode)
        uid, gid = _ids(owner, group)
        os.chown(backup_file, uid, gid)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pbxguard-", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        uid, gid = _ids(owner, group)
        os.fchown(fd, uid, gid)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    try:
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    # atomic_move copies the old file's attributes: enforce ours
    uid, gid = _ids(owner, group)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    try:  # persist the rename itself
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return backup_file


def undo_writes(paths, old, written, write):
    """Put files back after a failed change, the last written first: a file
    that did not exist before (``old[k] is None``) is removed, any other is
    written back with ``write(path, old_bytes)``. ``written`` lists the keys of
    ``paths``/``old`` that were written, in order. Best effort: the caller is
    already failing and reports Asterisk's words, not an undo error."""
    for k in reversed(written):
        if old[k] is None:
            try:
                os.unlink(paths[k])
            except OSError:
                pass
        else:
            write(paths[k], old[k])


def attributes_differ(path, owner=ASTERISK_OWNER, group=ASTERISK_GROUP, mode=ASTERISK_MODE):
    """True when ``path`` exists with another owner, group or mode."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    uid, gid = _ids(owner, group)
    return (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, mode)


def fix_attributes(path, owner=ASTERISK_OWNER, group=ASTERISK_GROUP, mode=ASTERISK_MODE):
    uid, gid = _ids(owner, group)
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    os.utime(path, None)  # Asterisk re-reads only files whose mtime changed


class HostLock(object):
    """An exclusive lock serialising pbxguard changes on one host (two plays
    editing the same file at once must not lose either change)."""

    def __init__(self, name="pbxguard-asterisk", directory=None):
        directory = directory or ("/run/lock" if os.path.isdir("/run/lock") else "/tmp")
        self.path = os.path.join(directory, name + ".lock")
        self.fd = None

    def __enter__(self):
        import fcntl
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None
        return False

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Asterisk CLI commands over the control socket, bounded and retried.

``asterisk -rx`` exits 0 even for unknown commands and failed reloads, so the
output is what counts: callers read the live state back after a reload."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time

RETRY_MARKERS = (
    "A module reload request is already in progress",
    "reload request is already in progress",
)
NOT_RUNNING_MARKERS = (
    "Unable to connect to remote asterisk",
    "does /var/run/asterisk/asterisk.ctl exist",
    "does /run/asterisk/asterisk.ctl exist",
)


class AsteriskCliError(Exception):
    pass


def run_cli(module, command, timeout=20, retries=10, delay=0.5, wait_for_command=False):
    """Run ``asterisk -rx COMMAND`` (each try bounded by ``timeout`` seconds);
    retry while a reload is in progress, and - with ``wait_for_command`` - while
    the command is not registered yet (right after a start, "No such command").
    Returns the output text; raises AsteriskCliError when Asterisk does not run
    or keeps refusing."""
    last = ""
    for attempt in range(retries + 1):
        rc, out, err = module.run_command(
            ["timeout", "--kill-after=5", str(timeout), "asterisk", "-rx", command])
        text = (out or "") + (err or "")
        last = text
        if rc == 124 or rc == 137:
            raise AsteriskCliError("asterisk -rx '%s' timed out after %ss" % (command, timeout))
        if any(m in text for m in NOT_RUNNING_MARKERS):
            raise AsteriskCliError("Asterisk is not running (control socket unreachable): %s"
                                   % text.strip())
        retry = any(m in text for m in RETRY_MARKERS)
        if wait_for_command and "No such command" in text:
            retry = True
        if not retry:
            return text
        if attempt < retries:
            time.sleep(delay)
    raise AsteriskCliError("asterisk -rx '%s' still refused after %d tries: %s"
                           % (command, retries + 1, last.strip()))


VERSION_RE = re.compile(r"^Asterisk ([0-9]+)((?:\.[0-9A-Za-z~+-]+)*)", re.M)


def parse_version(text):
    """Pure: ``core show version`` output -> (version text, major) or None."""
    m = VERSION_RE.search(text or "")
    if not m:
        return None
    return m.group(1) + m.group(2), int(m.group(1))


def version_gate(module, minimum, option="min_asterisk_version"):
    """Refuse (fail_json, before anything is read or written) unless Asterisk
    runs here and its major version is at least ``minimum``: what a role's
    first task proves, folded into that task's own module run instead of a
    separate ``command`` round trip. Returns the version text, or None when
    ``minimum`` is None (no check asked)."""
    if minimum is None:
        return None
    try:
        text = run_cli(module, "core show version", timeout=10, retries=3)
    except AsteriskCliError as e:
        module.fail_json(msg="%s: cannot read the Asterisk version (%s); nothing was changed" % (option, e))
    found = parse_version(text)
    if found is None:
        module.fail_json(msg="%s: 'core show version' did not name an Asterisk version (%s); nothing was changed"
                             % (option, text.strip()[:200]))
    if found[1] < minimum:
        module.fail_json(msg="%s: Asterisk %s runs on this host, at least %d is required; nothing was changed"
                             % (option, found[0], minimum), asterisk_version=found[0])
    return found[0]


def parse_colon_table(text):
    """Parse ``key: value`` lines of ``manager show user`` / ``... settings``."""
    result = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        key, _sep, value = line.partition(":")
        key = key.strip()
        if key and key not in result:
            result[key] = value.strip()
    return result


ASTERISK_LOG = "/var/log/asterisk/messages.log"


def log_offset(log_path):
    try:
        return os.path.getsize(log_path)
    except OSError:
        return None


def log_since(log_path, offset):
    """Asterisk's own words (NOTICE/WARNING/ERROR lines) logged since ``offset``."""
    if offset is None:
        return []
    try:
        with open(log_path, "rb") as f:
            f.seek(offset)
            text = f.read(65536).decode("utf-8", "replace")
    except (IOError, OSError):
        return []
    return [ln.strip() for ln in text.splitlines()
            if any(level in ln for level in ("ERROR[", "WARNING[", "NOTICE["))
            and "failed to authenticate" not in ln][-10:]

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one change transaction every module goes through.

A module describes its change as a ``Change`` (validate the arguments, then
read the host and plan) and calls ``run(Change(), argument_spec)`` from
``main()``. Only this file owns the order in which safety happens:

1. refuse NUL / non-UTF-8 bytes in any argument (before AnsibleModule)
2. ``change.validate(params)``: every error at once, before any I/O
3. the optional Asterisk version gate
4. the host lock, then ``change.plan(host, spec)``: reads only, through
   ``Host``, and returns a ``Plan`` (files to write, in order; what to
   prepare before they are written; what to apply; how to verify; how to
   revert)
5. the host's port plan for the listeners the plan asks for (only when
   something is to change)
6. the diff, always masked (key-based masking of every secret-bearing
   option, plus every ``no_log`` value of the task and the plan's secrets)
7. check mode stops here, having written nothing
8. pre-write checks of candidate files (e.g. ``nft -c``) on a temp copy
   (before the check-mode stop for files that ask for it)
9. ``plan.prepare`` (what the files need first, e.g. the account that owns
   them), then every changed file written atomically, in the plan's order
10. ``plan.apply`` (reload/restart), then ``plan.verify`` (the live state)
11. on any failure of 9-10 - a refused change, ``OSError``, an Asterisk CLI
    error - every file written is put back, the last written first, with
    its old owner and mode (or removed when it did not exist), then
    ``plan.revert`` puts the services back, and the task fails with what
    the daemon said.

Planners never write: ``Host`` has no write method for them. The write side
(``HostWriter``) is used by this file alone. Tests drive the whole sequence
with a fake host (tests/unit/plugins/module_utils/test_transaction.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile

from ansible_collections.pbxguard.asterisk.plugins.module_utils import _files as files
from ansible_collections.pbxguard.asterisk.plugins.module_utils._asterisk_cli import (
    AsteriskCliError, run_cli, version_gate)
from ansible_collections.pbxguard.asterisk.plugins.module_utils._module import refuse_bad_bytes
from ansible_collections.pbxguard.asterisk.plugins.module_utils._policy import PolicyError


class ChangeError(Exception):
    """The daemon did not take the change (its words are in the message)."""


class Host(files.LocalFiles):
    """Read side of the managed host, what planners may use: files (read,
    exists, isfile, isdir, stat, glob, listdir, realpath from
    ``_files.LocalFiles``), commands, Asterisk's CLI. Also passes for
    ``module`` where module_utils helpers only call ``run_command``
    (``run_cli(host, ...)``)."""

    def __init__(self, module):
        self.module = module
        self.check_mode = module.check_mode
        self.tmpdir = module.tmpdir

    def attributes_differ(self, path, owner=files.ASTERISK_OWNER, group=files.ASTERISK_GROUP,
                          mode=files.ASTERISK_MODE):
        return files.attributes_differ(path, owner, group, mode)

    def run_command(self, args, **kw):
        return self.module.run_command(args, **kw)

    def get_bin_path(self, name):
        return self.module.get_bin_path(name)

    def cli(self, command, **kw):
        return run_cli(self, command, **kw)

    def user(self, name):
        """The account ``name`` as dict(name, uid, gid, home, gecos, group), or None."""
        import grp
        import pwd
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            return None
        try:
            group = grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            group = None
        return dict(name=pw.pw_name, uid=pw.pw_uid, gid=pw.pw_gid, home=pw.pw_dir, gecos=pw.pw_gecos, group=group)

    def warn(self, text):
        self.module.warn(text)


class HostWriter(object):
    """Write side, used by the transaction only."""

    def __init__(self, module):
        self.module = module

    def write(self, path, data, owner, group, mode, backup=False):
        return files.write_atomic(self.module, path, data, owner=owner, group=group, mode=mode,
                                  backup=backup)

    def remove(self, path):
        try:
            os.unlink(path)
        except OSError as e:
            if e.errno != 2:
                raise

    def makedirs(self, path, mode):
        os.makedirs(path, mode)

    def stat(self, path):
        try:
            return os.stat(path)
        except OSError:
            return None

    def set_attributes(self, path, owner, group, mode):
        files.fix_attributes(path, owner, group, mode)

    def owner_names(self, st):
        import grp
        import pwd
        try:
            owner = pwd.getpwuid(st.st_uid).pw_name
        except KeyError:
            owner = None
        try:
            group = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            group = None
        return owner, group

    def check_file(self, command, data, tmpdir):
        """Run ``command`` (argv with ``{}`` for the file) on a temp copy of ``data``."""
        fd, tmp = tempfile.mkstemp(dir=tmpdir, prefix="pbxguard-check-")
        try:
            os.write(fd, data)
            os.close(fd)
            rc, out, err = self.module.run_command([a.replace("{}", tmp) for a in command])
            return rc, ((out or "") + (err or "")).replace(tmp, "<candidate>")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


class File(object):
    """One file of a plan: ``new`` bytes (None: the file is removed), the
    owner/group/mode it must have, and the optional ``check`` command run on
    a candidate copy before anything is written (argv, ``{}`` = the file).
    ``check_in_check_mode``: the check runs in check mode too (for a file
    that is checked on its own, e.g. ``kea-dhcp4 -t``, so check mode predicts
    a refusal; not for one whose check reads files earlier tasks write)."""

    def __init__(self, path, old, new, owner=files.ASTERISK_OWNER, group=files.ASTERISK_GROUP,
                 mode=files.ASTERISK_MODE, attributes_differ=False, check=None, make_dirs=None,
                 diff=True, backup=False, check_in_check_mode=False):
        self.path = path
        self.old = old
        self.new = new
        self.owner = owner
        self.group = group
        self.mode = mode
        self.attributes_differ = attributes_differ and new is not None and old is not None
        self.check = check
        self.check_in_check_mode = check_in_check_mode
        self.make_dirs = make_dirs  # mode of a missing parent directory, None: must exist
        self.diff = diff
        self.backup = backup

    @property
    def content_changed(self):
        return self.new != self.old

    @property
    def changed(self):
        return self.content_changed or self.attributes_differ


class Plan(object):
    """What a module's planner returns.

    - ``result``: the module's own return values (``changed`` is computed here)
    - ``files``: ``File`` objects in write order
    - ``changed``: a change that is not a file (a unit to enable, a live state
      that differs from an unchanged file)
    - ``bindings``: ``(manages, bindings)`` for the host's port plan, checked
      only when something is to change
    - ``prepare(host)``: service actions the files depend on, run right
      before they are written (``useradd`` for an account that will own them,
      ``systemctl disable --now`` of a unit whose file the plan removes); a
      failure there is handled like one in ``apply`` (``revert`` runs)
    - ``apply(host)``: reload/restart; may return a dict merged into the result
    - ``verify(host)``: a list of problems in the live state (empty: good)
    - ``revert(host)``: after the files are back, put the services back
    - ``said()``: the daemon's own words for a failure message
    - ``failure``: the message's start when verify finds problems
    - ``secrets``: values to mask in the diff besides the task's no_log values
    - ``after(host, result, applied)``: a last step; ``applied`` is True once
      a change was written and held, False in check mode or when nothing was
      to change. A dict it returns joins the result; a ChangeError fails the
      task (nothing is restored then)
    - ``diffs``: before/after entries (dicts with before_header, after_header,
      before, after) for changes that are not files (an account's password
      changed or not), masked and listed after the files'"""

    def __init__(self, result=None, files=(), changed=False, bindings=None, apply=None,
                 verify=None, revert=None, said=None, failure=None, secrets=(), after=None,
                 prepare=None, diffs=()):
        self.result = dict(result or {})
        self.files = list(files)
        self.extra_changed = bool(changed)
        self.bindings = bindings
        self.apply = apply
        self.verify = verify
        self.revert = revert
        self.said = said
        self.failure = failure or "the daemon did not take the change; the previous files were restored"
        self.secrets = list(secrets)
        self.after = after
        self.prepare = prepare
        self.diffs = list(diffs)

    @property
    def changed(self):
        return self.extra_changed or any(f.changed for f in self.files)


class Change(object):
    """A module's change. Subclasses set ``name`` and implement ``validate``
    (pure: the spec, or PolicyError) and ``plan`` (read through ``host``,
    never write). ``exit``/``fail`` may be overridden (e.g. to keep a
    10,000-item ``invocation`` short)."""

    name = "pbxguard"
    daemon = "Asterisk"  # whose words a failure message quotes
    version_option = "min_asterisk_version"

    def validate(self, params):
        return params

    def plan(self, host, spec):
        raise NotImplementedError

    def exit(self, module, result):
        module.exit_json(**result)

    def fail(self, module, msg, result):
        result = dict(result)
        result.pop("msg", None)
        module.fail_json(msg=msg, **result)


def masked_diffs(plan, extra_values):
    # longest first: a secret containing another one (msmtp's quoted password
    # around the task's no_log value) is masked whole, not around a tag
    values = sorted(set(v for v in list(extra_values) + plan.secrets if v), key=len, reverse=True)
    masker = files.Masker(extra_values=values)
    diffs = []
    for f in plan.files:
        if f.diff and f.content_changed:
            before = (f.old or b"").decode("utf-8", "surrogateescape")
            after = (f.new or b"").decode("utf-8", "surrogateescape")
            diffs.append(dict(before_header=f.path, after_header=f.path,
                              before=masker.text(before, path=f.path),
                              after=masker.text(after, path=f.path)))
    for d in plan.diffs:
        diffs.append(dict(before_header=d["before_header"], after_header=d["after_header"],
                          before=masker.text(d["before"]), after=masker.text(d["after"])))
    return diffs


def _text(problems):
    return "; ".join(str(p) for p in problems[:20])


class Transaction(object):
    def __init__(self, module, change, host=None, writer=None, portplan_check=None):
        self.module = module
        self.change = change
        self.host = host or Host(module)
        self.writer = writer or HostWriter(module)
        self.portplan_check = portplan_check
        self.written = []  # (File, old stat) in write order

    def _check_ports(self, plan):
        if plan.bindings is None:
            return
        check = self.portplan_check
        if check is None:
            from ansible_collections.pbxguard.asterisk.plugins.module_utils import _portplan as portplan

            def check(host, manages, bindings):
                portplan.check(portplan.collect_live(host), manages, bindings)
        manages, bindings = plan.bindings
        check(self.host, manages, bindings)

    def _check_candidates(self, plan, check_mode):
        for f in plan.files:
            if f.check and f.new is not None and f.content_changed and (f.check_in_check_mode or not check_mode):
                rc, out = self.writer.check_file(f.check, f.new, self.host.tmpdir)
                if rc != 0:
                    raise PolicyError("%s refused the new %s (nothing was changed): %s"
                                      % (f.check[0], f.path, out.strip()))

    def _write(self, plan):
        for f in plan.files:
            if not f.changed:
                continue
            st = self.writer.stat(f.path)
            if f.new is None:
                if st is not None:
                    self.written.append((f, st))
                    self.writer.remove(f.path)
                continue
            parent = os.path.dirname(f.path)
            if f.make_dirs is not None and not os.path.isdir(parent):
                self.writer.makedirs(parent, f.make_dirs)
            self.written.append((f, st))
            if f.content_changed:
                backup = self.writer.write(f.path, f.new, f.owner, f.group, f.mode, backup=f.backup)
                if backup and len(plan.files) == 1:  # one-file modules return it as backup_file
                    plan.result["backup_file"] = backup
                elif backup:
                    plan.result.setdefault("backup_files", {})[f.path] = backup
            else:
                self.writer.set_attributes(f.path, f.owner, f.group, f.mode)

    def _restore(self):
        """Every file written, the last first; best effort (the task is
        failing already and reports the daemon's words, not an undo error)."""
        restored = []
        for f, st in reversed(self.written):
            try:
                if st is None or f.old is None:
                    self.writer.remove(f.path)
                else:
                    owner, group = self.writer.owner_names(st)
                    self.writer.write(f.path, f.old, owner, group, st.st_mode & 0o7777)
                restored.append(f.path)
            except (IOError, OSError):
                pass
        self.written = []
        return restored

    def run(self, params):
        module, change = self.module, self.change
        try:
            spec = change.validate(params)
        except PolicyError as e:
            change.fail(module, str(e), {})
        result = dict(changed=False)
        version = version_gate(module, params.get(change.version_option)) \
            if change.version_option in params else None
        if version:
            result["asterisk_version"] = version
        with files.HostLock():
            try:
                plan = change.plan(self.host, spec)
            except (PolicyError, ChangeError, AsteriskCliError) as e:
                change.fail(module, str(e), result)
            result.update(plan.result)
            changed = plan.changed
            result["changed"] = changed
            if changed:
                try:
                    self._check_ports(plan)
                except PolicyError as e:
                    change.fail(module, str(e), result)
            if module._diff:
                diffs = masked_diffs(plan, getattr(module, "no_log_values", ()))
                if diffs:
                    # a one-file module's diff is one dict, as Ansible's own modules return it
                    result["diff"] = diffs[0] if len(plan.files) == 1 and not plan.diffs else diffs
            if changed:
                try:
                    self._check_candidates(plan, module.check_mode)
                except PolicyError as e:
                    change.fail(module, str(e), result)
            if not changed or module.check_mode:
                result.update(self._after(plan, result, False))
                change.exit(module, result)
                return result
            problems = []
            try:
                if plan.prepare:
                    plan.prepare(self.host)
                self._write(plan)
                for key in ("backup_file", "backup_files"):
                    if key in plan.result:
                        result[key] = plan.result[key]
                if plan.apply:
                    result.update(plan.apply(self.host) or {})
                if plan.verify:
                    problems = list(plan.verify(self.host) or [])
                if plan.failure and problems:
                    raise ChangeError("%s. Live state: %s" % (plan.failure, _text(problems)))
            except Exception as e:  # pylint: disable=broad-except
                # any failure after the first write - a refusal, OSError, or a bug in a
                # planner's apply/verify - puts every file back before the task fails
                said = []
                if plan.said:
                    try:
                        said = plan.said() or []
                    except Exception:  # pylint: disable=broad-except
                        said = []
                restored = self._restore()
                if plan.revert:
                    try:
                        plan.revert(self.host)
                    except Exception:  # pylint: disable=broad-except
                        pass
                msg = str(e)
                if isinstance(e, (IOError, OSError)):
                    msg = "writing failed: %s" % e
                elif not isinstance(e, (ChangeError, AsteriskCliError, PolicyError)):
                    msg = "internal error (%s: %s)" % (type(e).__name__, e)
                if restored and "restored" not in msg:
                    msg += "; restored: %s" % ", ".join(restored)
                if said:
                    msg += ". %s said: %s" % (change.daemon, " | ".join(said))
                change.fail(module, msg, result)
            result.update(self._after(plan, result, True))
        change.exit(module, result)
        return result

    def _after(self, plan, result, applied):
        """``plan.after``: a last step once the change holds (or when there is
        nothing to change), e.g. a test mail; a ChangeError it raises fails
        the task with ``result`` (nothing is restored: the change held)."""
        if plan.after:
            try:
                return plan.after(self.host, result, applied) or {}
            except (ChangeError, AsteriskCliError) as e:
                self.change.fail(self.module, str(e), result)
        return {}


def run(change, argument_spec, module_class=None, **module_kwargs):
    """What every module's ``main()`` calls."""
    refuse_bad_bytes()
    if module_class is None:
        from ansible.module_utils.basic import AnsibleModule
        module_class = AnsibleModule
    module_kwargs.setdefault("supports_check_mode", True)
    module = module_class(argument_spec=argument_spec, **module_kwargs)
    return Transaction(module, change).run(module.params)

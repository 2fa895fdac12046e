# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helper shared by the action plugins."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def execute_hidden(action, module_name, module_args, task_vars):
    """Run a module whose raw output carries stored hashes or secrets (the
    read-only probe step) with no_log forced on, so the connection's -vvv
    echo of module output cannot show them, whatever the task says."""
    contexts = [c for c in (action._play_context, getattr(action._connection, "_play_context", None))
                if c is not None]
    saved = [c.no_log for c in contexts]
    for c in contexts:
        c.no_log = True
    try:
        return action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
    finally:
        for c, v in zip(contexts, saved):
            c.no_log = v

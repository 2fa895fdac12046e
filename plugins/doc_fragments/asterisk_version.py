# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # the option of every module that can prove the host first (module_utils._asterisk_cli.version_gate)
    DOCUMENTATION = r"""
options:
  min_asterisk_version:
    description:
      - Refuse to do anything (fail before any file is read or written) unless Asterisk runs on the host
        and its major version (C(core show version)) is at least this. Omitted means no check.
      - Lets the first task of a role prove the host without a separate C(command) round trip.
    type: int
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How PJSIP finds the endpoint of a request, as far as toll fraud cares:
which endpoints a caller reaches without credentials. Shared by
sip_transport (what ``anonymous: false`` must refuse) and the toll audit.

- res_pjsip_endpoint_identifier_anonymous.so matches a request nothing else
  identified to the endpoint ``anonymous@DOMAIN`` or ``anonymous``, whatever
  that endpoint's ``identify_by`` says; without the module no request reaches
  it that way.
- The ``username``, ``auth_username`` and ``request_uri`` identifiers match an
  endpoint by a name the caller sends (From user, Authorization username,
  Request-URI user) when the endpoint's ``identify_by`` lists the method;
  res_pjsip's default ``identify_by`` is ``username,ip``. So an endpoint
  ``anonymous`` without ``auth`` takes a call From: anonymous@... (RFC 3323's
  anonymous caller) even with the anonymous identifier unloaded (lab)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

ANON_MODULE = "res_pjsip_endpoint_identifier_anonymous.so"
NAME_METHODS = ("username", "auth_username", "request_uri")
DEFAULT_IDENTIFY_BY = "username,ip"


def is_anonymous_name(name):
    return name == "anonymous" or name.startswith("anonymous@")


def by_name(identify_by):
    """The name-matching methods of an endpoint's ``identify_by`` (None: the default)."""
    methods = [m.strip().lower() for m in (identify_by if identify_by is not None else DEFAULT_IDENTIFY_BY).split(",")]
    return [m for m in NAME_METHODS if m in methods]

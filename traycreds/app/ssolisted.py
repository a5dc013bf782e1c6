"""Roles from IAM Identity Center's listing: what a session allows, without writing config.

``IdentityCenter.accounts`` caches ListAccounts/ListAccountRoles per session (app/sso.py);
here each listed role becomes a ``Role`` the catalog knows, named ``SESSION/ACCOUNT/ROLE``
(usable on the command line and over the channel) and grouped in the tray's menu by
"ACCOUNT NAME (ACCOUNT ID)". Profiles in ~/.aws/config win on a name clash, and a listed
role that a profile already names (same session, account and role) is not shown twice.

The listing came from the portal: account ids, role names and account names are checked
here before they become names, ARNs or menu labels.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace

from traycreds.core.models import Role, SsoTarget
from traycreds.core.roles import Catalog
from traycreds.core.sso import SsoSession

log = logging.getLogger(__name__)

_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_LABEL_LIMIT = 50


def listed_name(session: str, account_id: str, role_name: str) -> str:
    return f"{session}/{account_id}/{role_name}"


def _label(text: str, fallback: str) -> str:
    """An account name fit for a menu: no control or format characters, bounded."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    kept = " ".join(kept.split())[:_LABEL_LIMIT]
    return kept or fallback


def session_target(session: SsoSession, account_id: str = "", role_name: str = "") -> SsoTarget:
    return SsoTarget(session.name, session.start_url, session.region, account_id, role_name,
                     session.scopes)


def listed_roles(session: SsoSession) -> list[Role]:
    """The session's cached listing as roles (none when nothing is cached)."""
    from traycreds.adapters import ssocache
    from traycreds.app.sso import cached_accounts

    accounts = cached_accounts(session_target(session)) or []
    where = str(ssocache.listing_path(session_target(session)))
    roles = []
    for account in accounts:
        if not _ACCOUNT.match(account.account_id):
            log.warning("IAM Identity Center %s listed an account id that is not 12 digits; "
                        "skipped", session.name)
            continue
        group = f"{_label(account.name, 'Account')} ({account.account_id})"
        for role_name in account.roles:
            if not _ROLE_NAME.match(role_name):
                log.warning("IAM Identity Center %s listed a role name IAM cannot have in "
                            "account %s; skipped", session.name, account.account_id)
                continue
            name = listed_name(session.name, account.account_id, role_name)
            roles.append(Role(
                name=name, role_arn=f"arn:aws:iam::{account.account_id}:role/{role_name}",
                source=name, origin=where, group=group,
                sso=session_target(session, account.account_id, role_name)))
    return roles


def with_listed_roles(catalog: Catalog) -> Catalog:
    """``catalog`` with every session's listed roles added; configured roles win."""
    if not catalog.sessions:
        return catalog
    configured = {r.sso for r in catalog.roles.values() if r.sso is not None}
    roles = dict(catalog.roles)
    for session in catalog.sessions.values():
        try:
            listed = listed_roles(session)
        except Exception as error:  # a damaged cache must not stop the catalog loading
            log.warning("cannot read IAM Identity Center %s's listing: %s", session.name,
                        type(error).__name__)
            continue
        for role in listed:
            if role.name in roles or role.name in catalog.broken or role.sso in configured:
                continue
            roles[role.name] = role
    return replace(catalog, roles=roles)

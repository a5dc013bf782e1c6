"""The role catalog: merging, conflicts, validation, chains and duration caps."""

from __future__ import annotations

import pytest

from traycreds.core.awsconfig import read_profiles
from traycreds.core.errors import ConfigError, UnknownRoleError
from traycreds.core.roles import build_catalog, resolve_chain
from traycreds.core.settings import parse_settings

ARN = "arn:aws:iam::111122223333:role/"


def catalog(config: str, settings: str = ""):  # type: ignore[no-untyped-def]
    profiles, problems = read_profiles(config, "/aws/config")
    parsed, more = parse_settings(settings, "/settings.toml")
    return build_catalog(profiles, parsed, problems + more)


def test_roles_from_both_files_with_presentation() -> None:
    cat = catalog(
        f"[profile admin]\nrole_arn = {ARN}Admin\nsource_profile = me\nregion = eu-west-1\n",
        f'[roles.admin]\nlabel = "Admin"\ngroup = "Prod"\nfavourite = true\n'
        f'[roles.extra]\nrole_arn = "{ARN}Extra"\nsource_profile = "me"\n')
    assert sorted(cat.roles) == ["admin", "extra"]
    admin = cat.get("admin")
    assert (admin.label, admin.group, admin.favourite, admin.region) == \
        ("Admin", "Prod", True, "eu-west-1")
    assert admin.account == "111122223333" and admin.role_name == "Admin"
    assert cat.get("extra").origin == "/settings.toml"


def test_conflict_is_reported_and_the_role_is_unusable() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\n",
                  f'[roles.a]\nrole_arn = "{ARN}B"\n')
    assert "a" not in cat.roles
    with pytest.raises(ConfigError) as info:
        cat.get("a")
    assert "/aws/config" in info.value.message and "/settings.toml" in info.value.message
    assert "role_arn" in info.value.message


def test_same_value_in_both_files_is_not_a_conflict() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\n",
                  f'[roles.a]\nrole_arn = "{ARN}A"\n')
    assert "a" in cat.roles and cat.problems == []


@pytest.mark.parametrize(("line", "expected"), [
    ("duration_seconds = 60", "900..43200"),
    ("duration_seconds = soon", "whole number"),
    ("credential_source = Ec2InstanceMetadata", "not supported"),
    ("mfa_serial = 12", "MFA device"),
    ("role_session_name = a b", "role_session_name"),
    ("sts_regional_endpoints = sometimes", "legacy"),
    ("region = eu-west", "not an AWS region"),
    ("region = Europe", "not an AWS region"),
    ("region = us-east-1a", "not an AWS region"),
])
def test_invalid_role_fields_break_only_that_role(line: str, expected: str) -> None:
    cat = catalog(f"[profile bad]\nrole_arn = {ARN}B\nsource_profile = me\n{line}\n"
                  f"[profile good]\nrole_arn = {ARN}G\nsource_profile = me\n")
    assert "good" in cat.roles
    with pytest.raises(ConfigError) as info:
        cat.get("bad")
    assert expected in info.value.message and "/aws/config, line 4" in info.value.message


def test_a_bad_field_in_the_settings_is_reported_at_its_line_there() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\n",
                  '[roles.a]\nlabel = "A"\nregion = "Europe"\n')
    with pytest.raises(ConfigError) as info:
        cat.get("a")
    assert "/settings.toml, line 3" in info.value.message and "Europe" in info.value.message


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "us-gov-west-1", "cn-north-1",
                                    "ap-southeast-7", "us-isob-east-1", "eusc-de-east-1"])
def test_real_region_names_are_accepted(region: str) -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\nregion = {region}\n")
    assert cat.get("a").region == region and cat.problems == []


def test_header_missing_its_bracket_breaks_only_the_role_it_names() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\n"
                  f"[profile stage\nrole_arn = {ARN}S\nsource_profile = me\nregion = bad\n"
                  f"[profile c]\nrole_arn = {ARN}C\nsource_profile = me\n")
    # The lines under the broken header do not leak into [profile a].
    assert cat.get("a").role_arn == f"{ARN}A" and cat.get("a").region is None
    assert cat.get("c").role_arn == f"{ARN}C"
    with pytest.raises(ConfigError) as info:
        cat.get("stage")
    assert "/aws/config, line 4" in info.value.message and "']'" in info.value.message


def test_a_setting_missing_its_equals_breaks_only_its_role_and_names_the_line() -> None:
    cat = catalog(f"[profile bad]\nrole_arn = {ARN}B\nsource_profile = me\n"
                  "duration_seconds 7200\n"
                  f"[profile good]\nrole_arn = {ARN}G\nsource_profile = me\n")
    assert "good" in cat.roles
    with pytest.raises(ConfigError) as info:
        cat.get("bad")
    assert "/aws/config, line 4" in info.value.message
    assert "Write it as 'duration_seconds = 7200'" in info.value.message


def test_unknown_role_suggests_the_closest_name() -> None:
    cat = catalog(f"[profile prod-admin]\nrole_arn = {ARN}A\nsource_profile = me\n"
                  f"[profile dev]\nrole_arn = {ARN}D\nsource_profile = me\n")
    with pytest.raises(UnknownRoleError) as info:
        cat.get("prod-admn")
    assert info.value.message == ("Unknown role 'prod-admn'. Did you mean 'prod-admin'? "
                                  "'traycreds roles' lists them.")


def test_unknown_role_lists_known_ones() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = me\n")
    with pytest.raises(UnknownRoleError) as info:
        cat.get("b")
    assert "Known roles: a" in info.value.message


def test_chain_with_duration_cap_and_reason() -> None:
    cat = catalog(
        f"[profile base]\nrole_arn = {ARN}Base\nsource_profile = me\nduration_seconds = 43200\n"
        f"[profile hop]\nrole_arn = {ARN}Hop\nsource_profile = base\nduration_seconds = 7200\n")
    chain = resolve_chain(cat, "hop")
    assert chain.source_key == "me"
    assert [(h.role.name, h.duration) for h in chain.hops] == [("base", 43200), ("hop", 3600)]
    assert "role chaining" in (chain.hops[1].note or "")


def test_profile_naming_itself_as_source_uses_its_own_key() -> None:
    cat = catalog(f"[profile me]\nrole_arn = {ARN}Self\nsource_profile = me\n")
    chain = resolve_chain(cat, "me")
    assert chain.source_key == "me" and len(chain.hops) == 1


def test_loop_is_a_clear_error() -> None:
    cat = catalog(f"[profile a]\nrole_arn = {ARN}A\nsource_profile = b\n"
                  f"[profile b]\nrole_arn = {ARN}B\nsource_profile = a\n")
    with pytest.raises(ConfigError, match="loop"):
        resolve_chain(cat, "a")


@pytest.mark.parametrize(("config", "settings", "name", "shown"), [
    (f"[profile a$(b)]\nrole_arn = {ARN}A\nsource_profile = me\n", "", "a$(b)", "'$'"),
    (f"[profile a`b`]\nrole_arn = {ARN}A\nsource_profile = me\n", "", "a`b`", "'`'"),
    ("", f'[roles."a\\u001bb"]\nrole_arn = "{ARN}A"\nsource_profile = "me"\n', "a\x1bb",
     "U+001B"),
    (f"[profile ok]\nrole_arn = {ARN}A\nsource_profile = me\n",
     '[roles.ok]\nprofile = "x$(id)"\n', "ok", "'$'"),
])
def test_a_role_whose_profile_name_a_shell_could_run_is_refused(
        config: str, settings: str, name: str, shown: str) -> None:
    cat = catalog(config, settings)
    assert name not in cat.roles
    with pytest.raises(ConfigError) as info:
        cat.get(name)
    assert "cannot be a profile name" in info.value.message
    assert f"it holds {shown}" in info.value.message
    assert info.value.exit_code == 3


def test_a_chain_needs_mfa_when_any_hop_has_a_serial() -> None:
    serial = "arn:aws:iam::111122223333:mfa/me"
    cat = catalog(
        f"[profile plain]\nrole_arn = {ARN}Plain\nsource_profile = me\n"
        f"[profile base]\nrole_arn = {ARN}Base\nsource_profile = me\nmfa_serial = {serial}\n"
        f"[profile hop]\nrole_arn = {ARN}Hop\nsource_profile = base\n"
        f"[profile late]\nrole_arn = {ARN}Late\nsource_profile = plain\nmfa_serial = {serial}\n")
    assert not resolve_chain(cat, "plain").needs_mfa
    assert resolve_chain(cat, "base").needs_mfa
    assert resolve_chain(cat, "hop").needs_mfa  # the first hop asks, the role does not
    assert resolve_chain(cat, "late").needs_mfa  # only the last hop asks

"""The README is a contract: its tables and numbers are read here and checked against the code."""

from __future__ import annotations

import re

from tests.support import REPO_ROOT, markdown_section
from traycreds.core.errors import ExitCode, TraycredsError

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """The README section headed ``title``, its subsections included."""
    return markdown_section(README, title)[0]


def test_the_exit_code_table_lists_every_code_and_only_those() -> None:
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section("Exit codes"), re.M)
    documented = {int(code) for code, _ in rows}
    assert documented == {int(code) for code in ExitCode}


def test_every_error_class_has_a_documented_exit_code() -> None:
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section("Exit codes"), re.M)}
    queue: list[type[TraycredsError]] = [TraycredsError]
    while queue:
        cls = queue.pop()
        assert int(cls.exit_code) in documented, cls.__name__
        queue += cls.__subclasses__()


# --- the Security section ------------------------------------------------------------------
# Each bullet of the Security section, by a phrase it contains, and the tests that prove it.
# The numbers it states are read from the text and compared with the code's constants.
SECURITY_PROOFS: dict[str, list[str]] = {
    "The console sign-in URL signs in whoever opens it": [
        "test_console.py::test_the_browser_gets_a_private_file_never_the_secret_url",
        "test_console.py::test_print_prints_the_url_and_warns",
        "test_console.py::test_windows_shell_gets_the_page_never_the_url",
        "test_console.py::test_only_https_or_loopback_federation_urls",
        "test_console.py::test_a_page_whose_remover_never_ran_is_swept_by_the_next_opening"],
    "A key rotation's journal holds key ids": [
        "test_key_rotation.py::test_a_kill_at_any_step_is_finished_or_rolled_back",
        "test_key_rotation.py::test_rotation_replaces_the_key_everywhere"],
    "Long-term keys only in the OS keyring": [
        "test_keystore.py", "test_cli.py"],
    "No secret in a log line": ["test_cli.py"],
    "The runtime folder must be yours": [
        "test_channel_trust.py::test_another_users_tray_is_ignored_and_eval_runs_nothing",
        "test_channel_trust.py::test_a_socket_another_user_serves_in_our_folder_is_refused",
        "test_channel_trust.py::test_a_folder_or_key_file_others_could_have_made_is_refused",
        "test_channel_trust.py::test_a_key_file_of_another_owner_in_our_folder_is_refused",
        "test_channel_trust.py::test_the_warning_is_one_line_once_per_process"],
    "On Windows the channel is a named pipe": [
        "test_channel_windows.py::test_the_pipe_carries_our_dacl",
        "test_channel_windows.py::test_the_real_create_named_pipe_gets_the_flags",
        "test_channel_windows.py::test_other_sessions_and_runtime_folders_get_their_own_pipe",
        "test_channel_windows.py::test_the_client_refuses_a_tray_of_another_user",
        "test_channel_windows.py::test_the_tray_drops_a_client_of_another_user",
        "test_channel_windows.py::test_a_taken_channel_name_is_notified_once_the_icon_shows",
        "test_instance.py::test_acquire_takes_the_mutex_of_this_session_and_runtime_folder"],
    "The tray answers with a credentials document": [
        "test_channel_trust.py::test_a_malformed_credentials_document_prints_nothing",
        "test_channel_trust.py::test_a_good_document_is_rendered_by_the_client"],
    "The tray serves at most": [
        "test_hardening.py::test_the_documented_limits",
        "test_hardening.py::test_a_flood_of_idle_connections_exhausts_neither_threads_nor_descriptors"],
    "turn core dumps off": [
        "test_hardening.py::test_harden_process_disables_core_dumps_and_makes_the_process_not_dumpable",
        "test_hardening.py::test_credential_process_hardens_itself_on_the_full_path",
        "test_hardening.py::test_the_fast_path_runs_without_core_dumps",
        "test_fastpath.py::test_the_tray_runs_without_core_dumps"],
    "Each STS call, retries included": [
        "test_sts_deadline.py::test_a_call_that_never_completes_ends_at_the_deadline",
        "test_sts_deadline.py::test_the_deadline_covers_retries",
        "test_sts_deadline.py::test_export_gives_up_with_exit_17_and_two_lines",
        "test_sts_deadline.py::test_the_setting_is_checked",
        "test_sts_deadline.py::test_tray_role_is_usable_again_at_once_after_a_timeout"],
    "of an STS answer is read": [
        "test_sts_bad_answers.py::test_an_answer_that_is_not_sts_is_a_bad_response",
        "test_sts_bad_answers.py::test_a_huge_answer_is_abandoned_early",
        "test_sts_bad_answers.py::test_the_response_bound_is_one_mib",
        "test_sts_bad_answers.py::test_export_exits_19_with_two_lines_and_no_traceback"],
    "traycreds reads only regular files": [
        "test_file_safety.py::test_every_reader_refuses_what_is_not_a_small_regular_file",
        "test_file_safety.py::test_the_documented_limits",
        "test_file_safety.py::test_the_bounded_reader_itself"],
    "A symbolic link at": [
        "test_file_safety.py::test_dangling_link_is_refused_and_no_folder_is_created",
        "test_file_safety.py::test_dangling_link_is_refused_by_the_cli",
        "test_file_safety.py::test_link_and_target_of_different_owners_are_refused",
        "test_file_safety.py::test_a_dangling_folder_link_is_not_created_through",
        "test_file_safety.py::test_the_lock_file_is_never_opened_through_a_link",
        "test_file_safety.py::test_a_new_aws_folder_is_created_0700"],
    "Profile and section names holding": [
        "test_file_safety.py::test_unsafe_profile_names_are_refused_naming_the_character",
        "test_file_safety.py::test_a_role_named_with_a_dollar_is_refused_by_the_cli",
        "test_roles.py::test_a_role_whose_profile_name_a_shell_could_run_is_refused"],
    "Temp files are named": [
        "test_file_safety.py::test_a_temp_file_left_by_kill_9_is_removed_by_the_next_write",
        "test_file_safety.py::test_traycreds_clean_removes_stale_temp_files_and_says_how_many",
        "test_file_safety.py::test_files_not_ours_are_kept"],
    "Writing credentials into a file that group or others can read": [
        "test_file_safety.py::test_a_readable_credentials_file_becomes_0600_and_it_is_said_once"],
    "Logs: the user log folder": ["test_cli.py"],
    "fetch credentials from the tray over an": [
        "test_endpoint.py::test_botocore_gets_the_role_through_the_endpoint_and_follows_a_refresh",
        "test_endpoint.py::test_wrong_other_forgotten_and_missing_tokens_get_no_credentials",
        "test_endpoint.py::test_oversized_request_is_refused_and_no_token_reaches_the_log",
        "test_endpoint.py::test_connections_are_bounded_and_idle_ones_time_out",
        "test_exec.py::test_exec_with_a_tray_gives_the_child_the_endpoint",
        "test_exec.py::test_a_long_lived_sdk_loop_in_a_window_runs_across_refreshes",
        "test_window_open.py"],
}


def security_bullets() -> list[str]:
    bullets = re.split(r"^- ", section("Security"), flags=re.M)[1:]
    return [" ".join(bullet.split()) for bullet in bullets]


def test_every_security_bullet_names_tests_that_exist() -> None:
    bullets = security_bullets()
    for bullet in bullets:
        keys = [key for key in SECURITY_PROOFS if key in bullet]
        assert len(keys) == 1, f"no (or several) proofs listed for: {bullet[:80]}"
    assert len(bullets) == len(SECURITY_PROOFS)
    for proofs in SECURITY_PROOFS.values():
        for proof in proofs:
            file, _, name = proof.partition("::")
            source = (REPO_ROOT / "tests" / file).read_text(encoding="utf-8")
            assert not name or re.search(rf"^def {name}\(", source, re.M), proof


def bullet(phrase: str) -> str:
    return next(b for b in security_bullets() if phrase in b)


def test_the_security_numbers_are_the_codes() -> None:
    from traycreds.adapters import atomic, paths, sts
    from traycreds.channel import server
    from traycreds.core import errors, settings

    mib = 1024 * 1024
    limits = bullet("traycreds reads only regular files")
    assert f"at most {paths.AWS_FILE_LIMIT // mib} MiB for `~/.aws/config`" in limits
    assert paths.SETTINGS_FILE_LIMIT == paths.KEY_INDEX_LIMIT
    assert f"{paths.SETTINGS_FILE_LIMIT // mib} MiB for its settings file and its key" in limits
    assert f"exit {int(errors.ExitCode.CONFIG)} for the config" in limits
    assert f"exit {int(errors.ExitCode.FILE)} for the credentials file" in limits

    channel = bullet("The tray serves at most")
    assert f"at most {server.MAX_CONNECTIONS} channel connections" in channel
    assert f"within {server.HANDSHAKE_TIMEOUT:g} s" in channel

    deadline = bullet("Each STS call, retries included")
    low, high = settings.STS_TIMEOUT_RANGE
    assert f"default {settings.AppSettings().sts_timeout_seconds:g}, from {low} to {high}" \
        in deadline
    assert settings.AppSettings().sts_timeout_seconds == sts.DEFAULT_DEADLINE
    assert f"exit {int(errors.NetworkError.exit_code)}" in deadline

    answers = bullet("of an STS answer is read")
    assert f"At most {sts.MAX_STS_RESPONSE // mib} MiB" in answers
    assert f"exit {int(errors.BadResponseError.exit_code)}" in answers
    assert errors.BadResponseError.title in answers

    temps = bullet("Temp files are named")
    assert f".NAME{atomic.TEMP_MARK}PID-RANDOM" in temps
    assert atomic.STALE_AFTER_SECONDS == 60 and "a minute old" in temps

    names = bullet("Profile and section names holding")
    assert f"exit {int(errors.FileError.exit_code)} when writing" in names
    assert f"exit {int(errors.ConfigError.exit_code)} for a role" in names


def test_every_environment_variable_traycreds_reads_is_in_the_readme() -> None:
    """The table of "Environment variables" names each TRAYCREDS_ variable the code names,
    and names none the code does not know."""
    code = "".join(path.read_text(encoding="utf-8")
                   for path in (REPO_ROOT / "traycreds").rglob("*.py"))
    used = set(re.findall(r"\bTRAYCREDS_[A-Z][A-Z_]*[A-Z]\b", code))
    text, _ = markdown_section(README, "Environment variables")
    documented = set(re.findall(r"`(TRAYCREDS_[A-Z_]+)`", text))
    assert used == documented, (sorted(used - documented), sorted(documented - used))

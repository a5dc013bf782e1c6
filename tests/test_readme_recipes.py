"""The README's recipes, run as written.

Each ```sh block of the sections "Use", "Open the AWS console", "IAM Identity Center",
"Rotating access keys", "Credentials profiles", "Moving a plaintext key into the keyring"
and "Other programs ask the running tray" is read from README.md and every line runs, as the
text it is (only a trailing ``# comment`` is dropped), in a real bash (fish for a line piped
into fish's ``source``), with the ```ini blocks of "Use" as ``~/.aws/config``, byte for
byte. Nothing is substituted: the environment is what a user's machine provides (HOME and
the AWS files in a temp folder, the desktop's Secret Service as the keyring, ``traycreds``
and the AWS CLI on PATH) plus ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_STS`` pointing
every AWS call at a local moto server.

Each command must match one entry of EXPECTATIONS, which checks the outcome the README
promises for it (a comment on the line such as ``[NAME] in ~/.aws/credentials`` is read as
the promise). A README command that no entry knows fails the test: edit a recipe and this
file learns about it; break a recipe and CI fails.

The moto server here serves the README's account (111122223333: MOTO_ACCOUNT_ID, so the
README's ARNs are used unchanged) with IAM auth OFF: the README's prod-admin is behind MFA,
and moto's GetSessionToken returns a key its own auth then rejects (tests/support/
stsserver.py), so an MFA chain cannot succeed against an auth-enforcing moto. Auth itself is
covered by tests/test_cli.py and tests/test_harness.py. moto checks no MFA code: each command
gets a fresh six-digit code on standard input, as the README says one can be piped.
"""

from __future__ import annotations

import configparser
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest

from tests.support import (
    ARTIFACTS,
    REPO_ROOT,
    AwsEnv,
    markdown_section,
    require_program,
    screenshot,
)
from tests.support.federation import federation_server
from tests.support.stsserver import MotoSts

pytestmark = pytest.mark.usefixtures("secret_service")

README_PATH = REPO_ROOT / "README.md"
ACCOUNT = "111122223333"  # the account of the README's ARNs
USER = "alice"  # the README's mfa_serial is arn:aws:iam::111122223333:mfa/alice
BUCKET = "readme-recipes"  # what `aws ... s3 ls` must list
VENV_BIN = Path(sys.executable).parent  # traycreds and aws, as an installed user has them

# README commands that cannot run on this machine, with the reason. Each is reported as a
# skip by test_recipes_that_cannot_run_here, never passed over in silence.
NOT_RUNNABLE: dict[str, str] = {
    r"\| Invoke-Expression$": (
        "PowerShell is not packaged by Debian (`apt-cache policy powershell`: no candidate), "
        "so the pipe into Invoke-Expression is not run. The `traycreds export ... -s "
        "powershell` half of the line runs in test_use and its lines are read by PowerShell's "
        "quoting rules and their credentials used."),
}


# --- reading the README --------------------------------------------------------------------


def readme() -> str:
    return README_PATH.read_text(encoding="utf-8")


def section(title: str) -> tuple[str, int]:
    """The section headed ``title``'s own text (up to the next heading of any level: "Use"
    without its subsections) and the README line that text starts on."""
    return markdown_section(readme(), title, subsections=False)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # README line of the block's first line


def blocks(title: str, lang: str) -> list[Block]:
    body, first = section(title)
    found = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```$", body, re.M | re.S):
        if match.group(1) == lang:
            line = first + body[:match.start(2)].count("\n")
            found.append(Block(lang, match.group(2), line))
    assert found, f"README section {title!r} has no ```{lang} block"
    return found


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment): as sh reads it, a # starting a word outside quotes begins a
    comment."""
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1:].strip()
    return line.rstrip(), ""


@dataclass(frozen=True)
class Step:
    command: str
    comment: str
    line: int  # README line

    def where(self) -> str:
        return f"README.md line {self.line}: `{self.command}`"


def steps(title: str) -> list[Step]:
    """Every command line of the section's ```sh blocks, in order. A comment ending in ":"
    goes on in the next line's comment (the setup-profiles recipe does that)."""
    found: list[Step] = []
    for block in blocks(title, "sh"):
        for offset, raw in enumerate(block.text.splitlines()):
            command, comment = split_comment(raw)
            if found and found[-1].comment.endswith(":") and comment:
                # "adds [profile X] to ~/.aws/config:" goes on in the next line's comment.
                last = found[-1]
                found[-1] = Step(last.command, f"{last.comment} {comment}", last.line)
                comment = ""
            if command:
                found.append(Step(command, comment, block.line + offset))
    return found


# --- the user's machine --------------------------------------------------------------------


@dataclass
class Moto:
    server: MotoSts
    user_arn: str
    key: tuple[str, str]
    role_arn: str


@pytest.fixture(scope="module")
def readme_moto(artifacts: Path) -> Iterator[Moto]:
    """moto in the README's account with the README's user, MFA device and Admin role."""
    server = MotoSts.start(artifacts / "moto-readme", account_id=ACCOUNT, enforce_auth=False)
    try:
        user = server.make_user(USER)
        server.iam().create_virtual_mfa_device(VirtualMFADeviceName=USER)
        # The README's prod-admin asks for duration_seconds = 7200.
        role_arn = server.make_role("Admin", trusted_arn=user.arn, max_session_duration=7200)
        boto3.client("s3", region_name="us-east-1", endpoint_url=server.url,
                     aws_access_key_id=server.admin_key[0],
                     aws_secret_access_key=server.admin_key[1]).create_bucket(Bucket=BUCKET)
        yield Moto(server, user.arn, user.key, role_arn)
    finally:
        server.stop()


_codes = itertools.count(314159)


@dataclass
class Machine:
    """A user's shell: HOME, the AWS files, PATH with traycreds and the AWS CLI."""

    aws: AwsEnv
    moto: Moto
    runtime: Path
    env: dict[str, str] = field(init=False)
    written: list[str] = field(default_factory=list)  # sections `write` lines made, in order
    tray: subprocess.Popen[bytes] | None = None  # the user's tray, while running_tray runs
    signin_token: str = ""  # what the federation stand-in hands out (test_open_the_aws_console)

    def __post_init__(self) -> None:
        self.env = dict(self.aws.env, AWS_ENDPOINT_URL_STS=self.moto.server.url,
                        AWS_ENDPOINT_URL=self.moto.server.url,
                        PATH=f"{VENV_BIN}:{self.aws.env.get('PATH', '')}",
                        # A private runtime folder: a tray another test runs is not ours.
                        TRAYCREDS_RUNTIME_DIR=str(self.runtime))
        self.aws.aws_config.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def mfa_code() -> str:
        return f"{next(_codes) % 1_000_000:06d}\n"

    def run(self, command: str, *, then: str = "", stdin: str | None = None,
            shell: str = "bash") -> subprocess.CompletedProcess[str]:
        """``command`` as a line of a script in a real shell, then ``then`` in the same shell
        (to see what the line did to it). stdin: a fresh MFA code unless given."""
        script = f"{command}\n{then}" if then else command
        return subprocess.run([require_program(shell, f"README recipes in {shell}"), "-c",
                               script], env=self.env, cwd=self.aws.home, capture_output=True,
                              text=True, timeout=120,
                              input=self.mfa_code() if stdin is None else stdin)

    def sections(self, path: Path) -> configparser.RawConfigParser:
        parser = configparser.RawConfigParser(default_section="\0none")
        if path.exists():
            parser.read_string(path.read_text(encoding="utf-8"))
        return parser


@pytest.fixture
def machine(aws_env: AwsEnv, readme_moto: Moto) -> Iterator[Machine]:
    base = Path(tempfile.mkdtemp(prefix="tc-", dir="/tmp"))  # socket paths must be short
    try:
        yield Machine(aws_env, readme_moto, base / "traycreds")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def write_use_config(machine: Machine) -> None:
    """~/.aws/config = the ```ini blocks of "Use", as written, one after the other."""
    text = "\n".join(block.text for block in blocks("Use", "ini"))
    machine.aws.aws_config.write_text(text, encoding="utf-8")


# --- what each command promises ------------------------------------------------------------


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def caller_arn(key_id: str, secret: str, token: str | None, moto: Moto) -> str:
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=moto.server.url,
                       aws_access_key_id=key_id, aws_secret_access_key=secret,
                       aws_session_token=token)
    arn: str = sts.get_caller_identity()["Arn"]
    return arn


def assumed(moto: Moto) -> str:
    """The start of an ARN of the README's Admin role's sessions."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{moto.role_arn.rsplit('/', 1)[1]}/"


EXPECTED_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                      "AWS_CREDENTIAL_EXPIRATION"}
REGION_VARIABLES = {"AWS_REGION", "AWS_DEFAULT_REGION"}  # "when the role has a region"


def check_exported(values: dict[str, str], machine: Machine, role: str) -> list[str]:
    problems = []
    # "when the role has a region": the region variables too (a listed Identity Center
    # role, in no profile, has none).
    has_region = machine.sections(machine.aws.aws_config).has_option(f"profile {role}",
                                                                     "region")
    promised = EXPECTED_VARIABLES | (REGION_VARIABLES if has_region else set())
    if set(values) != promised:
        problems.append(f"variables {sorted(values)}, README promises {sorted(promised)}")
    if not values.get("AWS_CREDENTIAL_EXPIRATION", "").endswith("Z"):
        problems.append("AWS_CREDENTIAL_EXPIRATION is not RFC 3339 with Z")
    if not problems:
        arn = caller_arn(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"],
                         values["AWS_SESSION_TOKEN"], machine.moto)
        if not arn.startswith(assumed(machine.moto)):
            problems.append(f"the credentials are {arn}, not the role's")
    return problems


Check = Callable[[Machine, Step, "re.Match[str]"], list[str]]


def keys_add(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    key_id, secret = machine.moto.key
    result = machine.run(step.command, stdin=f"{key_id}\n{secret}\n")  # "two lines on stdin"
    if result.returncode != 0 or machine.moto.user_arn not in result.stdout:
        return [f"storing the key failed or did not name {machine.moto.user_arn}:\n"
                f"{outcome(result)}"]
    return []


def roles(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command)
    if result.returncode != 0 or result.stderr:
        return [f"no clean table:\n{outcome(result)}"]
    problems = []
    # The comment names the columns: "name, account, role, source, MFA, region, state".
    columns = [word.strip().upper() for word in step.comment.split(",")]
    lines = result.stdout.splitlines()
    if not lines or lines[0].split() != columns:
        problems.append(f"the header is not {columns}:\n{result.stdout}")
    config = machine.sections(machine.aws.aws_config)
    for name in config.sections():
        role = name.removeprefix("profile ")
        if not config.has_option(name, "role_arn"):
            continue
        row = next((line for line in lines if line.split()[:1] == [role]), "")
        account = config.get(name, "role_arn").split(":")[4]
        if account not in row:
            problems.append(f"role {role} is not listed with account {account}:\n"
                            f"{result.stdout}")
        elif config.has_option(name, "mfa_serial") and " yes " not in row:
            problems.append(f"role {role} is behind MFA but its row says otherwise: {row}")
    return problems


def export_cmd(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    values = {}
    for line in result.stdout.splitlines():
        found = re.fullmatch(r'set "([A-Z_]+)=(.*)"', line)
        if not found:
            return [f"not a cmd.exe `set \"NAME=value\"` line: {line!r}"]
        values[found.group(1)] = found.group(2)
    return check_exported(values, machine, match.group("role"))


def identity_in_shell(machine: Machine, step: Step, shell: str) -> list[str]:
    """Run the line, then the real AWS CLI in the same shell: it must be the role."""
    result = machine.run(step.command, shell=shell,
                         then="aws sts get-caller-identity --output json")
    if result.returncode != 0:
        return [f"the line, then `aws sts get-caller-identity` in {shell}:\n{outcome(result)}"]
    arn = json.loads(result.stdout)["Arn"]
    return [] if arn.startswith(assumed(machine.moto)) else [f"{shell} is {arn}"]


def eval_bash(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    return identity_in_shell(machine, step, "bash")


def source_fish(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    return identity_in_shell(machine, step, "fish")


def powershell_half(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """The line's producer runs; the pipe into PowerShell cannot (NOT_RUNNABLE)."""
    result = machine.run(match.group("producer"))
    if result.returncode != 0:
        return [outcome(result)]
    values = {}
    for line in result.stdout.splitlines():
        found = re.fullmatch(r"\$env:([A-Z_]+) = '((?:[^']|'')*)'", line)
        if not found:
            return [f"not a PowerShell `$env:NAME = 'value'` line: {line!r}"]
        values[found.group(1)] = found.group(2).replace("''", "'")
    return check_exported(values, machine, match.group("role"))


def whoami(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """The identity of the role the config names for the profile (its role_arn's role)."""
    result = machine.run(step.command)
    config = machine.sections(machine.aws.aws_config)
    arn = config.get(f"profile {match.group('role')}", "role_arn", fallback="")
    role = arn.rsplit("/", 1)[1] if arn else machine.moto.role_arn.rsplit("/", 1)[1]
    wanted = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/"
    if result.returncode != 0 or wanted not in result.stdout:
        return [f"not the role's identity:\n{outcome(result)}"]
    return []


def exec_as(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """`traycreds exec ROLE -- aws ...`: the command runs as the role (no tray here: static
    variables from this process's engine, the MFA code piped as for every command)."""
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    if match.group("args").endswith("s3 ls") and BUCKET not in result.stdout:
        return [f"the bucket {BUCKET} is not listed:\n{outcome(result)}"]
    who = machine.run(f"traycreds exec {match.group('role')} -- "
                      "aws sts get-caller-identity --output json")
    arn = json.loads(who.stdout or "{}").get("Arn", "") if who.returncode == 0 else ""
    if assumed(machine.moto) not in arn:
        return [f"the command did not run as the role:\n{outcome(who)}"]
    return []


# A browser as BROWSER runs it: it records what it was handed and reads the page it points to.
RECORDING_BROWSER = r'''import json, os, sys
from urllib.parse import unquote, urlsplit
seen = {"argv": sys.argv[1:]}
if sys.argv[1:] and sys.argv[1].startswith("file://"):
    seen["page"] = open(unquote(urlsplit(sys.argv[1]).path), encoding="utf-8").read()
with open(os.environ["RECORDED_BROWSER"], "a", encoding="utf-8") as log:
    log.write(json.dumps(seen) + "\n")
'''


def console(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """`traycreds console ROLE [...]`: the browser gets a private page that forwards to the
    federation endpoint's sign-in URL (never the URL itself); --print prints it and warns."""
    log = Path(machine.env["RECORDED_BROWSER"])
    before = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    options = match.group("options") or ""
    token = machine.signin_token
    region = re.search(r"--region (\S+)", options)
    wanted = re.search(r"--destination (\S+)", options)
    where = (quote(wanted.group(1), safe="") if wanted else
             quote(f"https://{region.group(1)}.console.aws.amazon.com", safe="") if region
             else "")
    after = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    if "--print" in options:
        problems = [] if f"SigninToken={token}" in result.stdout else [
            f"no sign-in URL on standard output:\n{outcome(result)}"]
        if "warning" not in result.stderr:
            problems.append(f"--print gave no warning:\n{outcome(result)}")
        if after != before:
            problems.append("--print opened a browser")
        return problems
    if len(after) != len(before) + 1:
        return [f"the browser was not started once:\n{outcome(result)}"]
    seen = json.loads(after[-1])
    if any(token in arg for arg in seen["argv"]) or not seen["argv"][0].startswith("file://"):
        return [f"the browser was handed {seen['argv']!r}, not a private page"]
    page = seen.get("page", "")
    if f"SigninToken={token}" not in page or where not in page:
        return [f"the page does not forward to the sign-in URL for {where or 'the console'}:"
                f"\n{page}"]
    return []


def _keys_of(machine: Machine) -> dict[str, str]:
    """The README user's access keys in IAM: id -> Active or Inactive."""
    iam = machine.moto.server.iam()
    user = machine.moto.user_arn.rsplit("/", 1)[1]
    return {k["AccessKeyId"]: k["Status"]
            for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def _stored_key(machine: Machine, source: str) -> tuple[str, str]:
    from traycreds.adapters import paths
    from traycreds.adapters.keystore import KeyStore

    creds = KeyStore(paths.data_dir() / "sources.json").get(source)
    return creds.access_key_id, creds.secret_access_key


def keys_rotate(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """`keys rotate NAME [--finish | --delete-now]`: the keyring holds a key IAM has Active
    that works at STS; the old key is Inactive (plain), or gone (--finish, --delete-now)."""
    source, option = match.group("source"), match.group("option")
    before, _ = _stored_key(machine, source)
    result = machine.run(step.command, stdin="")
    if result.returncode != 0:
        return [outcome(result)]
    key_id, secret = _stored_key(machine, source)
    keys = _keys_of(machine)
    if option == "--finish":
        wanted = {key_id: "Active"}
    elif option == "--delete-now":
        wanted = {key_id: "Active"} if key_id != before else {}
    else:
        wanted = {key_id: "Active", before: "Inactive"} if key_id != before else {}
    if keys != wanted:
        return [f"IAM holds {keys}, the README promises {wanted or 'a new key'}:\n"
                f"{outcome(result)}"]
    if caller_arn(key_id, secret, None, machine.moto) != machine.moto.user_arn:
        return ["the stored key does not work at STS"]
    return []


def keys_list(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """`keys list`: each stored key with its id, age and last use."""
    result = machine.run(step.command, stdin="")
    key_id, _ = _stored_key(machine, "me")
    header = result.stdout.splitlines()[0] if result.stdout else ""
    if result.returncode != 0 or key_id not in result.stdout or not all(
            column in header for column in ("AGE", "LAST USED")):
        return [f"no key id, age and last use:\n{outcome(result)}"]
    return []


def sso_login(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    """`traycreds login SESSION`: the browser (BROWSER, which approves the code as the person
    would) gets the sign-in page; the token lands in the AWS CLI's cache."""
    result = machine.run(step.command, stdin="")
    cache = machine.aws.home / ".aws" / "sso" / "cache"
    if result.returncode != 0 or "Signed in" not in result.stdout:
        return [outcome(result)]
    if not any(cache.glob("*.json")):
        return [f"no token in {cache}"]
    return []


def sso_roles(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command, stdin="")
    if result.returncode != 0 or not all(word in result.stdout
                                         for word in ("Sandbox", ACCOUNT, "DevAccess")):
        return [f"the portal's accounts and roles are not listed:\n{outcome(result)}"]
    return []


def sso_logout(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command, stdin="")
    cache = machine.aws.home / ".aws" / "sso" / "cache"
    tokens = [p for p in cache.glob("*.json") if "accessToken" in p.read_text()]
    if result.returncode != 0 or tokens:
        return [f"still signed in ({len(tokens)} token file(s)):\n{outcome(result)}"]
    return []


def written_section(step: Step) -> str | None:
    """The section a `write` line promises in its comment: "[NAME] in ~/.aws/credentials"."""
    found = re.search(r"\[([^\]\s]+)\]", step.comment)
    return found.group(1) if found else None


def write(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    name = match.group("profile") or written_section(step)
    if name is None:
        return ["the README does not say which section this writes (a comment such as "
                "`# [NAME] in ~/.aws/credentials`)"]
    machine.written.append(name)
    creds = machine.sections(machine.aws.aws_credentials)
    if not creds.has_option(name, "aws_session_token"):
        return [f"[{name}] with credentials is not in {machine.aws.aws_credentials}:\n"
                f"{outcome(result)}"]
    if name not in result.stdout:
        return [f"the output does not name [{name}]:\n{outcome(result)}"]
    return []


def write_remove(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    before = machine.sections(machine.aws.aws_credentials).sections()
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    after = machine.sections(machine.aws.aws_credentials).sections()
    # "removes that section and nothing else": the role's default section, written first.
    target = machine.written[0] if machine.written else None
    expected = [name for name in before if name != target]
    if target is None or after != expected:
        return [f"sections before {before}, after {after}; expected {expected}"]
    return []


def clean(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    before = machine.sections(machine.aws.aws_credentials).sections()
    result = machine.run(step.command)
    after = machine.sections(machine.aws.aws_credentials).sections()
    if result.returncode != 0 or after != before:  # nothing has expired yet
        return [f"sections before {before}, after {after}:\n{outcome(result)}"]
    return []


def aws_cli(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    # No terminal for an MFA prompt: a credential_process behind the profile that asks for
    # a code must get it from the running tray's dialog (answered here, as a user would) or
    # fail, never read ours.
    caller = subprocess.Popen(["bash", "-c", step.command], env=machine.env,
                              cwd=machine.aws.home, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if machine.tray is not None:
        _answer_mfa_dialog(caller)
    out, err = caller.communicate(timeout=60)
    result = subprocess.CompletedProcess(step.command, caller.returncode, out, err)
    if result.returncode != 0:
        return [outcome(result)]
    if match.group("args").endswith("s3 ls") and BUCKET not in result.stdout:
        return [f"the bucket {BUCKET} is not listed:\n{outcome(result)}"]
    return []


def keys_import(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    source = match.group("source")
    key_id, secret = machine.moto.key
    result = machine.run(step.command, stdin="")
    if result.returncode != 0:
        return [outcome(result)]
    problems = []
    if machine.moto.user_arn not in result.stdout:
        problems.append(f"the key was not checked with GetCallerIdentity:\n{outcome(result)}")
    if secret in machine.aws.aws_credentials.read_text(encoding="utf-8"):
        problems.append("the plaintext secret is still in ~/.aws/credentials")
    listed = machine.run("traycreds keys list", stdin="")
    if key_id not in listed.stdout:
        problems.append(f"`traycreds keys list` does not show {key_id}:\n{outcome(listed)}")
    # "adds `credential_process = traycreds credential-process --source me` to [profile me]"
    prose, _ = section("Moving a plaintext key into the keyring")
    promised = re.search(r"adds `credential_process = ([^`]+)`\s+to `\[profile (\S+)\]`",
                         prose)
    assert promised, "the key-import prose no longer says which line it adds"
    config = machine.sections(machine.aws.aws_config)
    header = f"profile {promised.group(2)}"
    line = config.get(header, "credential_process", fallback="")
    program, _, rest = line.partition(" ")
    expected_program, _, expected_rest = promised.group(1).partition(" ")
    # The line names the traycreds found on PATH, by its full path.
    if rest != expected_rest or shutil.which(expected_program, path=machine.env["PATH"]) \
            != program:
        problems.append(f"[{header}] has credential_process = {line!r}, README says "
                        f"{promised.group(1)!r}")
    for name in (machine.aws.aws_config.name, machine.aws.aws_credentials.name):
        if not list(machine.aws.aws_config.parent.glob(f"{name}.traycreds-backup-*")):
            problems.append(f"no backup of ~/.aws/{name} was kept")
    backups = list(machine.aws.aws_config.parent.glob("credentials.traycreds-backup-*"))
    if backups and secret not in backups[0].read_text(encoding="utf-8"):
        problems.append("the credentials backup does not hold the key the README warns of")
    # "The AWS CLI and SDKs keep working for that profile, now through the keyring."
    cli = machine.run(f"aws --profile {source} sts get-caller-identity --output json",
                      stdin="")
    if cli.returncode != 0 or json.loads(cli.stdout or "{}").get("Arn") != \
            machine.moto.user_arn:
        problems.append(f"the AWS CLI with --profile {source} no longer works:\n"
                        f"{outcome(cli)}")
    return problems


def setup_profiles(machine: Machine, step: Step, match: re.Match[str]) -> list[str]:
    result = machine.run(step.command)
    if result.returncode != 0:
        return [outcome(result)]
    # The comment names the profile ("[profile prod-admin-tray] in ~/.aws/config") and may go
    # on with its line ("credential_process = traycreds credential-process prod-admin").
    promised = re.search(r"\[(profile [^\]]+)\]", step.comment)
    if not promised:
        return [f"the comment no longer says what is added: {step.comment!r}"]
    stated = re.search(r"credential_process = (.+)$", step.comment)
    wanted = stated.group(1) if stated else f"traycreds credential-process {match.group('roles')}"
    config = machine.sections(machine.aws.aws_config)
    line = config.get(promised.group(1), "credential_process", fallback="")
    program, _, rest = line.partition(" ")
    expected_program, _, expected_rest = wanted.partition(" ")
    if rest != expected_rest or shutil.which(expected_program, path=machine.env["PATH"]) \
            != program:
        return [f"[{promised.group(1)}] has credential_process = {line!r}, README says "
                f"{wanted!r}"]
    return []


@dataclass(frozen=True)
class Expectation:
    pattern: str
    check: Check


# Every README command must match exactly one of these (fullmatch, after the comment).
EXPECTATIONS = [
    Expectation(r"traycreds keys add (?P<source>\S+)", keys_add),
    Expectation(r"traycreds roles", roles),
    Expectation(r"traycreds export (?P<role>\S+) --shell cmd", export_cmd),
    Expectation(r'eval "\$\(traycreds export (?P<role>\S+)\)"', eval_bash),
    Expectation(r"traycreds export (?P<role>\S+) -s fish \| source", source_fish),
    Expectation(r"(?P<producer>traycreds export (?P<role>\S+) -s powershell) "
                r"\| Invoke-Expression", powershell_half),
    Expectation(r"traycreds whoami (?P<role>\S+)", whoami),
    Expectation(r"traycreds exec (?P<role>\S+) -- aws (?P<args>.+)", exec_as),
    Expectation(r"traycreds console (?P<role>\S+)(?P<options>(?: --\S+(?: \S+)?)*)", console),
    Expectation(r"traycreds write (?P<role>\S+)(?: --profile (?P<profile>\S+))?", write),
    Expectation(r"traycreds write (?P<role>\S+) --remove", write_remove),
    Expectation(r"traycreds clean", clean),
    Expectation(r"aws --profile (?P<profile>\S+) (?P<args>.+)", aws_cli),
    Expectation(r"traycreds keys import (?P<source>\S+)", keys_import),
    Expectation(r"traycreds setup-profiles (?P<roles>\S+)", setup_profiles),
    Expectation(r"traycreds keys rotate (?P<source>\S+)(?: (?P<option>--finish|--delete-now))?",
                keys_rotate),
    Expectation(r"traycreds keys list", keys_list),
    Expectation(r"traycreds login (?P<session>\S+)", sso_login),
    Expectation(r"traycreds sso-roles (?P<session>\S+)", sso_roles),
    Expectation(r"traycreds logout (?P<session>\S+)", sso_logout),
]


def expectation_for(step: Step) -> tuple[Expectation, re.Match[str]]:
    matches = [(e, m) for e in EXPECTATIONS if (m := re.fullmatch(e.pattern, step.command))]
    assert len(matches) == 1, (
        f"{step.where()}: {'no' if not matches else 'more than one'} entry of EXPECTATIONS in "
        f"{Path(__file__).name} checks this command; add one saying what it promises")
    return matches[0]


def run_steps(machine: Machine, title: str) -> None:
    """Every command of the section in order; all problems are reported together."""
    problems = []
    for step in steps(title):
        expectation, match = expectation_for(step)
        for problem in expectation.check(machine, step, match):
            problems.append(f"{step.where()}\n{problem}")
    assert not problems, "\n\n".join(problems)


# --- the sections --------------------------------------------------------------------------


def test_use(machine: Machine) -> None:
    write_use_config(machine)
    run_steps(machine, "Use")


def test_the_sdk_profile_of_use(machine: Machine) -> None:
    """"For SDKs and the AWS CLI, let them ask traycreds": the ini's credential_process
    profile works for the real AWS CLI (the MFA code piped through it, as a script would)."""
    write_use_config(machine)
    key_id, secret = machine.moto.key
    added = machine.run("traycreds keys add me", stdin=f"{key_id}\n{secret}\n")
    assert added.returncode == 0, outcome(added)
    config = machine.sections(machine.aws.aws_config)
    profiles = [name.removeprefix("profile ") for name in config.sections()
                if config.has_option(name, "credential_process")]
    assert profiles, "the Use section has no credential_process profile any more"
    for profile in profiles:
        result = machine.run(f"aws --profile {profile} sts get-caller-identity --output json")
        assert result.returncode == 0, outcome(result)
        assert json.loads(result.stdout)["Arn"].startswith(assumed(machine.moto))


def test_moving_a_plaintext_key_into_the_keyring(machine: Machine) -> None:
    key_id, secret = machine.moto.key
    # What `aws configure --profile me` leaves: a region, and the key in plaintext.
    machine.aws.aws_config.write_text("[profile me]\nregion = us-east-1\n", encoding="utf-8")
    machine.aws.aws_credentials.write_text(
        f"[me]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n",
        encoding="utf-8")
    run_steps(machine, "Moving a plaintext key into the keyring")


@contextlib.contextmanager
def running_tray(machine: Machine) -> Iterator[None]:
    """The user's tray, started as they start it (`traycreds`), until `traycreds quit`."""
    from traycreds.channel import client
    from traycreds.core.errors import TraycredsError

    log = ARTIFACTS / "readme-recipes" / "tray.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        tray = subprocess.Popen(["traycreds"], env=machine.env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                executable=str(VENV_BIN / "traycreds"))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with pytest.MonkeyPatch.context() as patch:  # for client.request, here only
                    patch.setenv("TRAYCREDS_RUNTIME_DIR", str(machine.runtime))
                    client.request("hello", timeout=2)
                break
            except TraycredsError:
                assert tray.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        machine.tray = tray
        yield
    finally:
        machine.tray = None
        subprocess.run(["traycreds", "quit"], env=machine.env, timeout=30,
                       capture_output=True, executable=str(VENV_BIN / "traycreds"))
        try:
            tray.wait(10)
        except subprocess.TimeoutExpired:
            tray.kill()
            tray.wait(10)


def prepare_use_layout(machine: Machine) -> None:
    """The Use section's ~/.aws/config, and the key `me` stored as its recipe stores it."""
    write_use_config(machine)
    key_id, secret = machine.moto.key
    added = machine.run("traycreds keys add me", stdin=f"{key_id}\n{secret}\n")
    assert added.returncode == 0, outcome(added)


def test_open_the_aws_console(machine: Machine, tmp_path: Path) -> None:
    """The console recipes with the browser this machine has: a script in BROWSER that
    records what it was given, and AWS's federation endpoint played by a local stand-in
    (TRAYCREDS_FEDERATION_URL), which hands out a sign-in token for role sessions only."""
    prepare_use_layout(machine)
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n{RECORDING_BROWSER}", encoding="utf-8")
    browser.chmod(0o700)
    with federation_server() as stand_in:
        machine.signin_token = stand_in.token
        machine.env.update(BROWSER=f"{browser} %s", TRAYCREDS_FEDERATION_URL=stand_in.url,
                           RECORDED_BROWSER=str(tmp_path / "browser.log"))
        run_steps(machine, "Open the AWS console")
        assert stand_in.requests, "the federation endpoint was never asked"


def test_iam_identity_center(machine: Machine, tmp_path: Path) -> None:
    """The section's config as ~/.aws/config; IAM Identity Center played by the stand-in
    (AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO, as the AWS CLI honours them), whose
    role credentials are sessions of the README's Admin role at moto; the browser a script
    in BROWSER that approves the code it is opened with, as the person would."""
    from tests.support.ssoserver import SsoStandIn
    from tests.test_sso import FAKE_BROWSER

    text = "\n".join(block.text for block in blocks("IAM Identity Center", "ini"))
    machine.aws.aws_config.write_text(text, encoding="utf-8")
    server = machine.moto.server
    server.make_role("Deploy", trusted_arn=machine.moto.role_arn)
    key_id, secret = machine.moto.key
    stand_in = SsoStandIn().start()
    try:
        stand_in.add_account(ACCOUNT, "Sandbox", ["DevAccess", "ReadOnly"])

        def hand_out(account: str, role: str) -> dict[str, object]:
            answer = server.sts(key_id, secret).assume_role(
                RoleArn=machine.moto.role_arn, RoleSessionName="sso-user")["Credentials"]
            return {"accessKeyId": answer["AccessKeyId"],
                    "secretAccessKey": answer["SecretAccessKey"],
                    "sessionToken": answer["SessionToken"],
                    "expiration": int(answer["Expiration"].timestamp() * 1000)}

        stand_in.role_credentials = hand_out
        browser = tmp_path / "browser.py"
        browser.write_text(FAKE_BROWSER, encoding="utf-8")
        machine.env.update(AWS_ENDPOINT_URL_SSO_OIDC=stand_in.url,
                           AWS_ENDPOINT_URL_SSO=stand_in.url,
                           BROWSER=f"{sys.executable} {browser} %s {tmp_path / 'opened'}")
        run_steps(machine, "IAM Identity Center")
    finally:
        stand_in.stop()


def test_rotating_access_keys(aws_env: AwsEnv, artifacts: Path, tmp_path: Path) -> None:
    """On a moto of its own, with IAM auth on: rotation replaces the README user's key,
    which the other recipes share."""
    server = MotoSts.start(artifacts / "moto-readme-rotation", account_id=ACCOUNT)
    try:
        user = server.make_user(USER)
        server.allow(user, ["iam:CreateAccessKey", "iam:UpdateAccessKey",
                            "iam:DeleteAccessKey", "iam:ListAccessKeys",
                            "iam:GetAccessKeyLastUsed"], "*")
        machine = Machine(aws_env, Moto(server, user.arn, user.key, ""), tmp_path / "run")
        added = machine.run("traycreds keys add me", stdin=f"{user.key[0]}\n{user.key[1]}\n")
        assert added.returncode == 0, outcome(added)
        run_steps(machine, "Rotating access keys")
    finally:
        server.stop()


@pytest.mark.usefixtures("desktop")
def test_credentials_profiles(machine: Machine) -> None:
    """Its first route (setup-profiles) is served by the tray, which asks for prod-admin's
    MFA code on the desktop; `write` then works without it."""
    require_program("xdotool", "typing the MFA code into the tray's dialog")
    prepare_use_layout(machine)
    with running_tray(machine):
        run_steps(machine, "Credentials profiles")


@pytest.mark.usefixtures("desktop")
def test_other_programs_ask_the_running_tray(machine: Machine) -> None:
    """setup-profiles with a running tray: the AWS CLI's credential_process call has no
    terminal, so the tray asks for prod-admin's MFA code on the desktop."""
    require_program("xdotool", "typing the MFA code into the tray's dialog")
    prepare_use_layout(machine)
    with running_tray(machine):
        run_steps(machine, "Other programs ask the running tray")


def _answer_mfa_dialog(caller: subprocess.Popen[str]) -> None:
    """If the tray asks for an MFA code while ``caller`` runs, type one, as the user would.
    Held credentials need none: then the caller ends first."""
    from traycreds.tray.dialogs import MFA_TITLE

    def xdotool(*args: str) -> str:
        return subprocess.run(["xdotool", *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()

    deadline = time.monotonic() + 30
    while xdotool("getwindowfocus", "getwindowname") != MFA_TITLE:
        if caller.poll() is not None:
            return
        assert time.monotonic() < deadline, "the tray's MFA dialog did not get the focus"
        time.sleep(0.1)
    screenshot("readme-recipe-mfa-dialog")
    xdotool("type", "--delay", "50", Machine.mfa_code().strip())
    xdotool("key", "Return")


# --- what cannot run here, said out loud -----------------------------------------------------


def _not_runnable() -> list[tuple[Step, str]]:
    found = []
    for title in ("Use", "Open the AWS console", "IAM Identity Center", "Rotating access keys",
                  "Credentials profiles", "Moving a plaintext key into the keyring",
                  "Other programs ask the running tray"):
        for step in steps(title):
            found += [(step, why) for pattern, why in NOT_RUNNABLE.items()
                      if re.search(pattern, step.command)]
    return found


@pytest.mark.parametrize(("step", "why"), _not_runnable(), ids=lambda v: getattr(v, "command", ""))
def test_recipes_that_cannot_run_here(step: Step, why: str) -> None:
    pytest.skip(f"NOT RUN: {step.where()}: {why}")


def test_the_ini_blocks_carry_no_comment_inside_a_value() -> None:
    """botocore (and traycreds, which reads the files as botocore does) take everything after
    `=` as the value: `source_profile = me  # the key` names a profile "me  # the key"."""
    bad = [f"README.md line {block.line + offset}: {line.strip()}"
           for title in ("Use", "IAM Identity Center") for block in blocks(title, "ini")
           for offset, line in enumerate(block.text.splitlines())
           if "=" in line and not line.lstrip().startswith(("#", ";", "["))
           and re.search(r"\s[#;]", line.split("=", 1)[1])]
    assert not bad, ("a comment after a value becomes part of the value for the AWS tools; "
                     "put it on a line of its own:\n" + "\n".join(bad))


def test_the_parser_reads_commands_as_sh_does() -> None:
    assert split_comment('eval "$(traycreds export prod-admin)"    # bash/zsh') == (
        'eval "$(traycreds export prod-admin)"', "bash/zsh")
    assert split_comment("echo 'a # b' x#y # c") == ("echo 'a # b' x#y", "c")
    assert split_comment('echo "a \\" # b"') == ('echo "a \\" # b"', "")
    assert split_comment("# only") == ("", "only")

"""The tray end to end, as a person uses it: a real ``traycreds tray`` process docked in
trayer on the private X display, clicked and walked with xdotool, copying to the real X
clipboard, talking to a real STS (moto, auth enforced; the scripted ``sts_errors`` server
for the MFA flow), its dialogs drawn by Tk and its notifications seen on D-Bus.

Every test starts its own tray and ends it (through its menu's Quit where the test is
about something else, too); screenshots land in ``$TRAYCREDS_ARTIFACTS/screenshots`` and
each tray's own output in ``$TRAYCREDS_ARTIFACTS/tray-e2e``.

Driving GTK menus under Xvfb without a window manager (what works, and what does not):

- The icon is the tray process' window (``_NET_WM_PID``) embedded in trayer's ``panel``
  window; it is docked once that window is viewable. Right-click its centre to open the menu.
- The menu grabs the keyboard, so ``xdotool key`` reaches it without any focus dance.
  ``Down`` on a fresh menu selects the first *sensitive* item (disabled captions such as
  "No active role yet" are skipped, but the active-role item is sensitive once a role was
  used, which shifts every role by one); ``Up`` selects the last item (Quit); ``Right`` opens
  a submenu and selects its first sensitive item; ``Return`` activates; ``Escape`` closes.
- Right after docking the menu may still say "Loading roles...". Nothing on screen says
  when the roles are in, so every walk checks its result (a submenu window appeared, or the
  highlighted row is where the loaded menu has it) and, if not, closes the menu and retries
  within a bounded time.
- Open menus are the process' other viewable top-level windows; ``xdotool search`` dies
  with BadWindow when a window vanishes during the search (a menu closing), so it retries.
- The Tk MFA dialog takes the keyboard itself (focus_force); the test waits until the X
  input focus is inside the dialog before typing, else the digits would go nowhere.
- ``xclip -i`` forks a child that owns the selection: run it with stdout/stderr not captured,
  or ``subprocess.run`` waits for the child forever.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ARTIFACTS, AwsEnv, NotificationLog, errorserver, poll, screenshot

pytestmark = pytest.mark.usefixtures("desktop", "secret_service")

ACCOUNT = "123456789012"  # moto's default account; the sts_errors server uses it too
START_TIMEOUT = 15.0  # spawn -> icon docked (imports GTK, PIL; ~1 s here)
MENU_TIMEOUT = 3.0  # a click or key -> the menu window reacts
COPY_TIMEOUT = 15.0  # a click -> credentials on the clipboard (STS, keyring, xclip)
EXIT_TIMEOUT = 5.0  # Quit -> the process has exited
CHECK = (
    "import boto3, os; print(boto3.client('sts', region_name='us-east-1', "
    "endpoint_url=os.environ['AWS_ENDPOINT_URL_STS']).get_caller_identity()['Arn'])"
)
SENTINEL = "nothing-copied-yet"



# -- small tools -------------------------------------------------------------------------------




def x_tool(*argv: str, check: bool = True) -> str:
    """Run an X client (xdotool, xwininfo, xprop); retried when a window vanished mid-query."""
    for _attempt in range(10):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        if "BadWindow" not in result.stderr:
            break
        time.sleep(0.05)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def key(*keys: str) -> None:
    x_tool("xdotool", "key", "--delay", "40", *keys)


@dataclass(frozen=True)
class Window:
    id: int
    name: str
    x: int
    y: int
    width: int
    height: int
    viewable: bool

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.width, self.y + self.height


def window_info(window: int) -> Window | None:
    """Absolute geometry and map state, or None when the window is gone."""
    out = x_tool("xwininfo", "-id", str(window), check=False)
    if not out:
        return None
    name = re.search(r'xwininfo: Window id: \S+ "(.*)"', out)

    def number(label: str) -> int:
        found = re.search(rf"{label}:\s+(-?\d+)", out)
        return int(found.group(1)) if found else 0

    return Window(window, name.group(1) if name else "", number("Absolute upper-left X"),
                  number("Absolute upper-left Y"), number("Width"), number("Height"),
                  "IsViewable" in out)


def windows_of(pid: int) -> list[Window]:
    """The process' viewable windows (xdotool matches _NET_WM_PID)."""
    out = x_tool("xdotool", "search", "--onlyvisible", "--pid", str(pid), check=False)
    found = (window_info(int(line)) for line in out.split())
    return [w for w in found if w is not None and w.viewable]


def panel() -> int:
    out = x_tool("xdotool", "search", "--name", "^panel$")
    return int(out.split()[0])


def find_icon(pid: int) -> Window | None:
    """The tray's icon: its window inside trayer's panel, viewable (docked), else None."""
    tree = x_tool("xwininfo", "-tree", "-id", str(panel()), check=False)
    for match in re.finditer(r"^\s+(0x[0-9a-f]+) ", tree, re.MULTILINE):
        window = int(match.group(1), 16)
        props = x_tool("xprop", "-id", str(window), "_NET_WM_PID", check=False)
        if props.strip().endswith(f"= {pid}"):
            info = window_info(window)
            if info is not None and info.viewable and info.width > 1:
                return info
    return None


def grab(box: tuple[int, int, int, int]) -> Any:
    from PIL import ImageGrab

    return ImageGrab.grab(bbox=box, xdisplay=None)


def changed_rows(before: Any, after: Any) -> tuple[int, int] | None:
    """(top, bottom) of the rows that differ between two grabs of the same box: the row a
    key press highlighted, found without knowing the theme's colours."""
    from PIL import ImageChops

    box = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()
    return (box[1], box[3]) if box else None


def settled_grab(box: tuple[int, int, int, int], timeout: float = MENU_TIMEOUT) -> Any:
    """A grab of ``box`` once two grabs 50 ms apart agree (the menu is fully drawn)."""
    from PIL import ImageChops

    deadline = time.monotonic() + timeout
    last = grab(box)
    while True:
        time.sleep(0.05)
        now = grab(box)
        if ImageChops.difference(last.convert("RGB"), now.convert("RGB")).getbbox() is None:
            return now
        if time.monotonic() >= deadline:
            raise AssertionError(f"the screen inside {box} keeps changing")
        last = now


def rows_changed_by_down(menu: Window) -> tuple[int, int]:
    """Press Down in an open menu; (top, bottom) of the rows that changed, relative to the
    menu: the newly selected item and the one that lost the selection, if any. Only the
    menu's left strip is compared: a notification popping up on the right cannot count."""
    box = (menu.x, menu.y, menu.x + min(menu.width, 150), menu.y + menu.height)
    before = settled_grab(box)
    key("Down")
    poll(lambda: changed_rows(before, grab(box)), MENU_TIMEOUT, "Down moves the selection")
    rows = changed_rows(before, settled_grab(box))
    assert rows is not None
    return rows


def selected_row(menu: Window) -> float:
    """Where the selected item of an open menu is, in rows from the menu's top (the Down
    press changes it and the item below it: two rows)."""
    top, bottom = rows_changed_by_down(menu)
    return top / ((bottom - top) / 2)


def clipboard() -> str:
    result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                            text=True, timeout=10, check=False)
    return result.stdout if result.returncode == 0 else ""


def set_clipboard(text: str) -> None:
    """Another program copies ``text`` (so a later copy by the tray is visible as a change)."""
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=text.encode(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=True)
    poll(lambda: clipboard() == text, 5, f"the clipboard holds {text!r}")


def wait_clipboard(prefix: str, timeout: float = COPY_TIMEOUT) -> str:
    try:
        return poll(lambda: (text := clipboard()).startswith(prefix) and text, timeout,
                    f"the clipboard starts with {prefix!r}")
    except AssertionError as error:
        raise AssertionError(f"{error} (it holds {clipboard()[:60]!r})") from None


def mfa_dialog() -> Window | None:
    out = x_tool("xdotool", "search", "--onlyvisible", "--name", "^traycreds: MFA code$",
                 check=False)
    for line in out.split():
        info = window_info(int(line))
        if info is not None and info.viewable:
            return info
    return None


def focus_inside(window: Window) -> bool:
    focused = x_tool("xdotool", "getwindowfocus", "-f", check=False).strip()
    if not focused.isdigit():
        return False
    if int(focused) == window.id:
        return True
    tree = x_tool("xwininfo", "-tree", "-id", str(window.id), check=False)
    return f"{int(focused):#x} " in tree


def shot(name: str, crop: tuple[int, int, int, int] | None = None) -> Path:
    path = screenshot(name)
    if crop is not None:
        from PIL import Image

        with Image.open(path) as image:
            image.crop(crop).save(path)
    return path


# -- the tray under test -----------------------------------------------------------------------


class Tray:
    """One ``python -m traycreds tray`` process and the xdotool walks a person would do."""

    def __init__(self, env: dict[str, str], runtime: Path, output: Path) -> None:
        self.env = env
        self.runtime = runtime
        self.output = output
        self._out = output.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "traycreds", "tray"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT)
        self.icon = poll(self._docked, START_TIMEOUT, "the tray icon docks in trayer's panel",
                         interval=0.1)

    @property
    def socket(self) -> Path:
        return self.runtime / "channel.sock"

    def _docked(self) -> Window | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the tray exited with {self.proc.returncode}:\n{self.log()}")
        return find_icon(self.proc.pid)

    def log(self) -> str:
        self._out.flush()
        return self.output.read_text(errors="replace")[-4000:]

    # -- menus ---------------------------------------------------------------------------
    def menus(self) -> list[Window]:
        """Open menu windows, left to right (the top menu first, then its submenu)."""
        found = [w for w in windows_of(self.proc.pid)
                 if w.id != self.icon.id and w.x >= 0 and w.y >= 0 and w.width > 20
                 and w.height > 20 and not w.name.startswith("traycreds:")]
        return sorted(found, key=lambda w: w.x)

    def click(self, button: int) -> None:
        x, y = self.icon.centre
        x_tool("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def open_menu(self, timeout: float = 10.0) -> Window:
        """Right-click the icon until the menu is open. On a loaded machine the first click
        after docking can go unanswered for seconds (the warm-up thread imports boto3 while
        the GTK loop waits for the GIL), so an unanswered click is repeated."""
        self.close_menus()
        deadline = time.monotonic() + timeout
        while True:
            self.click(3)
            try:
                return poll(self.menus, min(MENU_TIMEOUT, timeout), "the menu opens")[0]
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no menu on a right-click within {timeout} s; "
                                         f"tray output:\n{self.log()}") from None

    def close_menus(self) -> None:
        for _attempt in range(4):
            if not self.menus():
                return
            key("Escape")
            time.sleep(0.1)
        assert not self.menus(), "the menus do not close on Escape"

    def open_submenu(self, downs: int, timeout: float = 10.0) -> Window:
        """Open the menu, press Down ``downs`` times and Right: that item's submenu opens
        with its first enabled item selected. Retried while the menu still loads (no
        submenu there). Returns the submenu's window."""
        deadline = time.monotonic() + timeout
        while True:
            self.open_menu()
            key(*["Down"] * downs, "Right")
            try:
                menus = poll(lambda: len(m := self.menus()) >= 2 and m, 1.5,
                             "a submenu opens")
                return menus[-1]
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"no submenu after Down x{downs}, Right within {timeout} s; "
                        f"tray output:\n{self.log()}") from None
            self.close_menus()

    def choose(self, downs: int, sub_downs: int) -> None:
        """Activate the item ``sub_downs`` below the first enabled one in the submenu of the
        ``downs``-th enabled top item."""
        self.open_submenu(downs)
        key(*["Down"] * sub_downs, "Return")
        poll(lambda: not self.menus(), MENU_TIMEOUT, "the menu closes after Return")

    def quit_via_menu(self) -> float:
        """Menu > Quit (Up selects the last item); returns how long the process took to exit."""
        self.open_menu()
        key("Up", "Return")
        started = time.monotonic()
        try:
            code = self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the tray still runs {EXIT_TIMEOUT} s after Quit:\n"
                                 f"{self.log()}") from None
        took = time.monotonic() - started
        assert code == 0, f"the tray exited with {code} after Quit:\n{self.log()}"
        assert not self.socket.exists(), "the channel socket outlived the tray"
        return took

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._out.close()


@dataclass
class Desk:
    """What a test works with: its AWS user environment and a tray starter."""

    aws_env: AwsEnv
    runtime: Path
    output_dir: Path
    name: str
    trays: list[Tray]

    def env(self, sts_url: str) -> dict[str, str]:
        return dict(self.aws_env.env, AWS_ENDPOINT_URL_STS=sts_url,
                    TRAYCREDS_RUNTIME_DIR=str(self.runtime), TRAYCREDS_LOG="debug")

    def add_key(self, source: str, key_id: str, secret: str, sts_url: str) -> None:
        result = subprocess.run([sys.executable, "-m", "traycreds", "keys", "add", source],
                                env=self.env(sts_url), input=f"{key_id}\n{secret}\n",
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr

    def write_config(self, profiles: dict[str, dict[str, str]]) -> None:
        lines = ["[default]", "region = us-east-1", ""]
        for name, fields in profiles.items():
            lines.append(f"[profile {name}]")
            lines += [f"{k} = {v}" for k, v in fields.items()]
            lines.append("")
        self.aws_env.aws_config.parent.mkdir(parents=True, exist_ok=True)
        self.aws_env.aws_config.write_text("\n".join(lines))

    def write_settings(self, text: str) -> None:
        path = self.aws_env.config_home / "traycreds" / "settings.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def start(self, sts_url: str) -> Tray:
        index = len(self.trays)
        tray = Tray(self.env(sts_url), self.runtime,
                    self.output_dir / f"{self.name}{'-' + str(index) if index else ''}.log")
        self.trays.append(tray)
        return tray


@pytest.fixture
def desk(aws_env: AwsEnv, request: pytest.FixtureRequest) -> Iterator[Desk]:
    # A short private runtime folder: the channel socket's path must stay under ~100 bytes,
    # and no other test's traycreds may find this tray.
    runtime = Path(tempfile.mkdtemp(prefix="tc-"))
    output_dir = ARTIFACTS / "tray-e2e"
    output_dir.mkdir(parents=True, exist_ok=True)
    desk = Desk(aws_env, runtime, output_dir, request.node.name, [])
    set_clipboard(SENTINEL)
    try:
        yield desk
    finally:
        for tray in desk.trays:
            tray.stop()
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def base64_sts_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the scripted STS's success documents carry base64 secrets and tokens, as AWS's do.

    errorserver draws them with secrets.token_urlsafe, whose '-' and '_' the product rightly
    refuses to paste into a shell (shells.check_shapes: "Value cannot be written safely"):
    nearly every session token has one. Mapped to '+' and '/' here, for this test only.
    """
    original = errorserver._credentials_xml

    def base64_values(prefix: str, duration: int, now: Any) -> str:
        return re.sub(r"<(SecretAccessKey|SessionToken)>([^<]*)</\1>",
                      lambda m: f"<{m[1]}>{m[2].replace('-', '+').replace('_', '/')}</{m[1]}>",
                      original(prefix, duration, now))

    monkeypatch.setattr(errorserver, "_credentials_xml", base64_values)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assumable_role(moto: Any) -> tuple[Any, str]:
    """A moto user with a key and a role it may assume."""
    user = moto.make_user()
    role_arn = moto.make_role(trusted_arn=user.arn)
    moto.allow_assume(user, role_arn)
    return user, role_arn


# -- the tests -----------------------------------------------------------------------------------


def test_copy_for_bash_pastes_into_real_bash_and_quit_ends_the_process(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    user, role_arn = assumable_role(moto)
    source = unique("e2e")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({"dev": {"role_arn": role_arn, "source_profile": source}})

    tray = desk.start(moto.url)
    assert tray.socket.exists(), "the tray's channel socket is missing while it runs"
    shot("tray-docked", crop=(0, 0, 400, 60))

    # Menu: "No active role yet" (disabled), dev >; Down selects dev, Right opens its submenu.
    tray.open_submenu(1)
    shot("tray-menu-open")
    key("Down", "Down", "Return")  # Copy for cmd.exe -> PowerShell -> bash/zsh
    poll(lambda: not tray.menus(), MENU_TIMEOUT, "the menu closes")

    text = wait_clipboard("export AWS_ACCESS_KEY_ID='ASIA")
    assert "export AWS_SESSION_TOKEN='" in text
    note = notifications.wait_for("copied for bash", timeout=10)
    assert note.summary == "dev copied for bash", note

    # Paste it into a real bash, as a person would, and ask STS who that is.
    pasted = subprocess.run(
        ["bash", "-c", 'eval "$(xclip -selection clipboard -o)"; "$1" -c "$2"', "-",
         sys.executable, CHECK],
        env=dict(desk.aws_env.env, AWS_ENDPOINT_URL_STS=moto.url),
        capture_output=True, text=True, timeout=60, check=False)
    assert pasted.returncode == 0, pasted.stderr
    role_name = role_arn.rsplit("/", 1)[1]
    assert pasted.stdout.strip().startswith(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/"), pasted.stdout

    tray.quit_via_menu()
    assert find_icon(tray.proc.pid) is None, "the icon is still docked after Quit"


@pytest.mark.usefixtures("base64_sts_values")
def test_mfa_dialog_takes_the_code_once_for_roles_sharing_a_device(
        desk: Desk, moto: Any, sts_errors: Any, notifications: NotificationLog) -> None:
    # A real user, key and virtual MFA device in moto (the key is verified there) ...
    user = moto.make_user()
    serial = moto.make_mfa_device(user)
    moto.allow_session_token(user)
    source = unique("e2e-mfa")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    # ... but the tray talks to the scripted STS: moto's GetSessionToken returns credentials
    # its own auth then rejects, so MFA session -> AssumeRole cannot succeed against it.
    sts_errors.respond_success()
    alpha = f"arn:aws:iam::{ACCOUNT}:role/mfa-alpha"
    beta = f"arn:aws:iam::{ACCOUNT}:role/mfa-beta"
    desk.write_config({
        "mfa-alpha": {"role_arn": alpha, "source_profile": source, "mfa_serial": serial},
        "mfa-beta": {"role_arn": beta, "source_profile": source, "mfa_serial": serial},
    })
    tray = desk.start(sts_errors.url)

    tray.choose(1, 0)  # mfa-alpha > Copy for cmd.exe
    dialog = poll(mfa_dialog, 10, "the MFA dialog appears")
    poll(lambda: focus_inside(dialog), 5, "the MFA dialog has the keyboard focus")
    shot("tray-mfa-dialog")
    code = "274913"
    x_tool("xdotool", "type", "--delay", "30", code)
    key("Return")

    text = wait_clipboard('set "AWS_ACCESS_KEY_ID=ASIA')
    assert 'set "AWS_SESSION_TOKEN=' in text
    assert notifications.wait_for("copied for cmd.exe").summary == "mfa-alpha copied for cmd.exe"
    assert mfa_dialog() is None, "the MFA dialog is still open"
    sessions = sts_errors.params_of("GetSessionToken")
    assert len(sessions) == 1, sts_errors.actions()
    assert sessions[0]["TokenCode"] == code and sessions[0]["SerialNumber"] == serial
    first_key = text.splitlines()[0]

    # The second role on the same device: no second code, the MFA session is reused.
    set_clipboard(SENTINEL)
    tray.choose(3, 0)  # "mfa-alpha - 59 min left" (active), mfa-alpha, mfa-beta > cmd.exe
    text = wait_clipboard('set "AWS_ACCESS_KEY_ID=ASIA')
    assert text.splitlines()[0] != first_key
    assert notifications.wait_for("mfa-beta copied").summary == "mfa-beta copied for cmd.exe"
    assert mfa_dialog() is None, "a second MFA dialog appeared"
    assert len(sts_errors.params_of("GetSessionToken")) == 1, sts_errors.actions()
    assumed = sts_errors.params_of("AssumeRole")
    assert [p["RoleArn"] for p in assumed] == [alpha, beta]
    assert all("TokenCode" not in p for p in assumed), assumed  # the session carries the MFA

    tray.quit_via_menu()


def test_left_click_copies_the_active_role_for_its_remembered_shell(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    # Issue 15 changed this test: the left click repeats the role's last hand-over (fish
    # here), where it used to copy for the settings' default shell (now bash, unused).
    user, role_arn = assumable_role(moto)
    source = unique("e2e")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({"ops": {"role_arn": role_arn, "source_profile": source}})
    desk.write_settings('[app]\ndefault_shell = "bash"\n')
    tray = desk.start(moto.url)

    tray.choose(1, 3)  # ops > Copy for fish: ops becomes the active role
    first = wait_clipboard("set -gx AWS_ACCESS_KEY_ID 'ASIA")
    notifications.wait_for("ops copied for fish", timeout=10)
    key_id = re.search(r"AWS_ACCESS_KEY_ID '(\w+)'", first)
    assert key_id is not None

    set_clipboard(SENTINEL)
    tray.click(1)  # the default item: copy the active role again, for fish again
    text = wait_clipboard("set -gx AWS_ACCESS_KEY_ID ")
    assert not tray.menus(), "a left click opened the menu"
    assert notifications.wait_for("copied for fish").summary == "ops copied for fish"
    assert f"set -gx AWS_ACCESS_KEY_ID '{key_id.group(1)}'" in text, \
        "the held credentials were not reused"

    pasted = subprocess.run(["fish", "-c", "eval $argv[1]; $argv[2] -c $argv[3]", text,
                             sys.executable, CHECK],
                            env=dict(desk.aws_env.env, AWS_ENDPOINT_URL_STS=moto.url),
                            capture_output=True, text=True, timeout=60, check=False)
    assert pasted.returncode == 0, pasted.stderr
    assert f":assumed-role/{role_arn.rsplit('/', 1)[1]}/" in pasted.stdout

    tray.quit_via_menu()


def test_access_denied_is_notified_and_shown_in_the_roles_submenu(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    user, allowed_arn = assumable_role(moto)
    denied_arn = moto.make_role(trusted_arn=user.arn)  # trusted, but no policy allows it
    source = unique("e2e")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({
        "a-denied": {"role_arn": denied_arn, "source_profile": source},
        "b-allowed": {"role_arn": allowed_arn, "source_profile": source},
    })
    tray = desk.start(moto.url)

    tray.choose(1, 0)  # a-denied > Copy for cmd.exe
    note = notifications.wait_for("Access denied", timeout=COPY_TIMEOUT)
    assert note.summary == "Access denied", note
    assert clipboard() == SENTINEL, "a failed copy changed the clipboard"

    # Its submenu now starts with the error (title, wrapped message, separator) above the
    # copy items: it is taller than the other role's, and "Copy for cmd.exe" (which Right
    # selected) lies rows below its top instead of at it.
    failed = tray.open_submenu(1)
    shot("tray-error-menu")
    failed_row = selected_row(failed)
    tray.close_menus()
    plain = tray.open_submenu(2)
    plain_row = selected_row(plain)
    tray.close_menus()
    assert failed.height > plain.height * 1.2, (failed, plain)
    assert plain_row < 0.5 and failed_row >= 2, (plain_row, failed_row)

    tray.quit_via_menu()


def test_second_start_wakes_the_running_tray(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    desk.write_config({})
    first = desk.start(moto.url)
    poll(first.socket.exists, 5, "the channel socket exists")

    started = time.monotonic()
    second = subprocess.run([sys.executable, "-m", "traycreds"], env=first.env,
                            capture_output=True, text=True, timeout=30, check=False)
    took = time.monotonic() - started
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already running" in second.stdout
    assert took < 5.0, f"the second start took {took:.2f} s"
    note = notifications.wait_for("traycreds is running", timeout=5)
    assert note.summary == "traycreds is running"

    assert first.proc.poll() is None, "the first tray died"
    assert find_icon(first.proc.pid) is not None, "the first tray's icon is gone"
    first.quit_via_menu()


def test_no_roles_says_so_in_the_menu(desk: Desk, moto: Any) -> None:
    desk.write_config({})
    tray = desk.start(moto.url)

    # Loaded, the menu reads: "No roles configured yet", two lines of advice, three example
    # lines, a separator, then "Add access key..." - the first enabled item, which Down
    # selects. Still loading, Add access key sits right under "Loading roles...". So the row
    # Down highlights (found by comparing grabs) tells the two apart.
    deadline = time.monotonic() + 10
    while True:
        menu = tray.open_menu()
        shot("tray-no-roles")
        top, bottom = rows_changed_by_down(menu)
        if top >= 4 * (bottom - top):  # at least four rows above the first enabled item
            break
        assert time.monotonic() < deadline, f"the menu never showed the no-roles text {top}"
        tray.close_menus()
        time.sleep(0.2)
    key("Return")  # Add access key... opens its dialog: the first enabled item is that
    dialog = poll(lambda: x_tool("xdotool", "search", "--onlyvisible", "--name",
                                 "^traycreds: Add access key$", check=False).split(),
                  10, "the Add access key dialog opens")
    assert dialog
    key("Escape")
    poll(lambda: not x_tool("xdotool", "search", "--onlyvisible", "--name",
                            "^traycreds: Add access key$", check=False).split(),
         5, "Escape closes the dialog")
    tray.quit_via_menu()


def test_a_left_click_copies_again_for_the_remembered_shell(
        desk: Desk, moto: Any, notifications: NotificationLog) -> None:
    # Issue 15, item 4: the role remembers "Copy for PowerShell"; a left click on the icon
    # (the menu's bold default item) copies it again for PowerShell, and says so.
    user, role_arn = assumable_role(moto)
    source = unique("e2e-again")
    desk.add_key(source, user.key_id, user.secret, moto.url)
    desk.write_config({"dev": {"role_arn": role_arn, "source_profile": source}})
    desk.write_settings('[app]\ndefault_shell = "bash"\n')
    tray = desk.start(moto.url)

    tray.choose(1, 1)  # dev > Copy for cmd.exe, Copy for PowerShell
    first = wait_clipboard("$env:AWS_ACCESS_KEY_ID = 'ASIA")
    notifications.wait_for("dev copied for PowerShell", timeout=10)

    set_clipboard(SENTINEL)
    tray.close_menus()
    tray.click(1)  # the left click: no menu, the default item's action
    again = wait_clipboard("$env:AWS_ACCESS_KEY_ID = 'ASIA")
    assert again == first, "the held credentials, for PowerShell (not the default bash)"
    assert "$env:AWS_SESSION_TOKEN = '" in again
    assert not tray.menus(), "a left click copies; it opens no menu"

    # The menu says what that click does: its bold top item.
    menu = tray.open_menu()
    poll(lambda: settled_grab(menu.box), MENU_TIMEOUT, "the menu is drawn")
    shot("tray-menu-copy-again-for-powershell")
    tray.close_menus()
    tray.quit_via_menu()

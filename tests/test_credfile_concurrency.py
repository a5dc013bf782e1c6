"""Many processes writing one credentials file at once, and a reader watching.

20 writer processes, each writing its own role's section 5 times through the real path
(``profiles.write_profile``: lock file, re-read, upsert, temp file, fsync, rename), all
released at the same moment. A reader process reads the file in a loop the whole time.

At the end every section holds the last values its writer wrote, the file parses (for us and
for botocore's strict RawConfigParser), and the user's sections and comments are byte for byte
what they were. The reader never saw a partial file: every read parsed, started with the
user's original bytes and had only complete sections of ours, which never went away.
"""

from __future__ import annotations

import configparser
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from traycreds.core import credfile, ini

REPO = Path(__file__).resolve().parents[1]
WRITERS = 20
WRITES_EACH = 5

ORIGINAL = """\
# My credentials. Do not let tools rewrite this file!
[default]
aws_access_key_id = AKIDEXAMPLEDEFAULT01
aws_secret_access_key = secretDEFAULT ; not a comment
s3 =
  max_concurrent_requests = 10

; Büro — the legacy account
[profile "legacy a"]
aws_access_key_id=AKIDEXAMPLELEGACY001
aws_secret_access_key :secretLEGACY
# end of the hand-written part
"""

# Each writer: wait for the start signal, write its section WRITES_EACH times with fresh
# values (made up here, at run time, in the shapes AWS uses), print the last values written.
WRITER = r"""
import json, random, string, sys, time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from traycreds.app import profiles
from traycreds.core.models import Credentials, Role

path, index, writes = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
go, ready = Path(sys.argv[4]), Path(sys.argv[5])
rng = random.Random(index)
role = Role(name=f"role-{index:02d}", role_arn=f"arn:aws:iam::123456789012:role/r{index}",
            source="me", origin="test")
profile = f"team {index}" if index % 2 else None  # half by role name, half by --profile
ready.touch()
while not go.exists():
    time.sleep(0.002)
upper = string.ascii_uppercase + string.digits
b64 = string.ascii_letters + string.digits + "+/"
for n in range(writes):
    creds = Credentials(
        "ASIA" + "".join(rng.choices(upper, k=16)),
        "".join(rng.choices(b64, k=40)),
        "".join(rng.choices(b64, k=rng.randint(100, 400))) + "==",
        datetime(2030, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=index * 100 + n))
    name = profiles.write_profile(role, creds, profile=profile, path=path).name
print(json.dumps({"section": name, "role": role.name, "values": profiles.credential_values(creds)}))
"""

# The reader: read, check, repeat until told to stop; then one last read. Reports as JSON.
READER = r"""
import configparser, json, sys, time
from pathlib import Path
from traycreds.core import ini

path, stop, ready = Path(sys.argv[1]), Path(sys.argv[3]), Path(sys.argv[4])
original = Path(sys.argv[2]).read_bytes()
FULL = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
        "aws_credential_expiration", "traycreds_role"}
reads, busy, bad, seen, states = 0, 0, [], set(), set()

def check():
    global reads, seen, busy
    try:
        raw = path.read_bytes()
    except PermissionError:
        # Windows: the rename that puts a new file in place holds it open with DELETE
        # access for an instant, and an open() that does not share delete (Python's,
        # botocore's) fails then with a sharing violation; such readers retry.
        if sys.platform != "win32":
            raise
        busy += 1
        return
    reads += 1
    if not raw.startswith(original):
        bad.append(f"read {reads}: the user's part changed ({len(raw)} bytes)")
        return
    text = raw.decode("utf-8")
    doc = ini.parse(text)
    if doc.problems:
        bad.append(f"read {reads}: parse problems {doc.problems[:2]}")
        return
    configparser.RawConfigParser().read_string(text)
    ours = {s.name: s.values() for s in doc.sections if s.get("traycreds_role") is not None}
    for name, values in ours.items():
        if set(values) != FULL or not all(values.values()):
            bad.append(f"read {reads}: [{name}] incomplete: {sorted(values)}")
    if not seen <= set(ours):
        bad.append(f"read {reads}: sections disappeared: {sorted(seen - set(ours))}")
    seen = set(ours)
    states.add(len(ours))

check()
ready.touch()
while not stop.exists():
    try:
        check()
    except Exception as exc:
        bad.append(f"read {reads}: {type(exc).__name__}: {exc}")
check()
print(json.dumps({"reads": reads, "busy": busy, "bad": bad[:10], "states": sorted(states)}))
"""


def _wait_for(paths: list[Path], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"{what} did not start within {timeout} s"
        time.sleep(0.01)


def test_twenty_processes_write_their_sections_at_once(tmp_path: Path) -> None:
    path = tmp_path / "aws" / "credentials"
    path.parent.mkdir()
    path.write_text(ORIGINAL, encoding="utf-8")
    path.chmod(0o644)
    original = path.read_bytes()
    saved_original = tmp_path / "original"
    saved_original.write_bytes(original)
    go, stop = tmp_path / "go", tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    python = [sys.executable, "-c"]

    reader_ready = tmp_path / "reader-ready"
    reader = subprocess.Popen([*python, READER, str(path), str(saved_original), str(stop),
                               str(reader_ready)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    writers: list[subprocess.Popen[str]] = []
    try:
        _wait_for([reader_ready], 30, "the reader")
        ready = [tmp_path / f"ready-{i}" for i in range(WRITERS)]
        writers = [subprocess.Popen([*python, WRITER, str(path), str(i), str(WRITES_EACH),
                                     str(go), str(ready[i])], cwd=REPO, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for i in range(WRITERS)]
        _wait_for(ready, 60, "the writers")
        started = time.monotonic()
        go.touch()  # all at once
        results = []
        for proc in writers:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        elapsed = time.monotonic() - started
    finally:
        stop.touch()
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0, err
    report = json.loads(out)

    # The reader never saw a partial or broken file, and did see the writes happen.
    assert report["bad"] == [], report
    assert report["states"][0] == 0 and report["states"][-1] == WRITERS, report
    assert len(report["states"]) > 2, f"the reader saw no write in progress: {report}"

    # The user's part is byte for byte what it was; the file parses, for us and botocore.
    final = path.read_bytes()
    assert final.startswith(original)
    text = final.decode("utf-8")
    doc = credfile.parse_checked(text, str(path))
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert parser.get("default", "s3") == "\nmax_concurrent_requests = 10"
    # Every section is there once, with its writer's last values.
    owned = {s.name: s for s in doc.sections if s.get(credfile.OWNER_KEY) is not None}
    assert len(owned) == WRITERS
    for result in results:
        section = owned[result["section"]]
        want = dict(map(tuple, result["values"])) | {credfile.OWNER_KEY: result["role"]}
        assert section.values() == want, result["section"]
        assert dict(parser.items(result["section"])) == want
    assert [s.name for s in ini.parse(original.decode()).sections] == \
        [s.name for s in doc.sections][:2]
    # The file holds secrets: 0644 became 0600. Nothing is left behind but the lock file.
    if sys.platform != "win32":  # Windows has no group/other mode bits to tighten
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".credentials.traycreds-lock", "credentials"]
    print(f"{WRITERS * WRITES_EACH} writes in {elapsed:.2f} s; reader: {report['reads']} "
          f"reads, {len(report['states'])} states")

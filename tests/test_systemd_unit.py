"""The systemd unit in deploy/: restarted on failure, its own user, hardened, and accepted by systemd itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "smat-intake.service"
INSTALLED = "/opt/smat-intake/.venv/bin/"


def sections(text: str) -> dict[str, dict[str, list[str]]]:
    """The unit file as {section: {key: [values, in order]}} (a key may be given more than once)."""
    found: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = found.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, line
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return found


def test_the_unit_restarts_on_failure_as_its_own_user_and_writes_only_its_state_folder():
    unit = sections(UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["ExecStart"] == INSTALLED + "smat-intake run"
    assert one["ExecStartPre"] == INSTALLED + "smat-intake init"
    assert one["Restart"] == "on-failure" and one["RestartPreventExitStatus"] == "2"  # a config mistake: no loop
    assert one["User"] == one["Group"] == "smat-intake"
    assert one["KillSignal"] == "SIGTERM"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ReadWritePaths": "/var/lib/smat-intake",
        "StateDirectory": "smat-intake",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
    }.items():
        assert one.get(key) == value, key
    assert "@system-service" in service["SystemCallFilter"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def installed_here(tmp_path: Path) -> Path:
    """The unit with its commands pointing at this checkout's smat-intake, so systemd can check they exist."""
    here = str(Path(sys.executable).parent) + "/"
    unit = tmp_path / "smat-intake.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, here), encoding="utf-8")
    return unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(installed_here(tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_rates_the_unit_well_hardened(tmp_path):
    # exposure on systemd's 0-10 scale; --threshold is in tenths: at most 2.0 ("OK")
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(installed_here(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-400:] + result.stderr
    assert "Overall exposure level for smat-intake.service: 1." in result.stdout

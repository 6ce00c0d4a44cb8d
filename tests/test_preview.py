"""`smat-intake preview`: one example of every kind of mail, from the live templates, stored and sent nowhere."""

from __future__ import annotations

import shutil
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from intake import cli
from intake.preview import template_folders
from intake.preview_samples import READERS, SAMPLES, STORY
from intake.resources import templates_dir
from tests.support import TOWN_MAILBOX, write_config


def test_every_kind_of_mail_has_an_example_in_the_table() -> None:
    sampled = {sample.template for sample in SAMPLES}
    assert set(template_folders(templates_dir())) <= sampled, "a template folder has no row in SAMPLES"
    steps = {step.name for step in STORY}
    assert all(sample.step in steps and sample.reader in READERS for sample in SAMPLES)
    assert len({sample.stem for sample in SAMPLES}) == len(SAMPLES)


def test_preview_writes_every_example_and_stores_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "var" / "smat.db"
    config = write_config(tmp_path, f"sqlite:///{database}")
    out = tmp_path / "preview"
    assert cli.main(["--config", str(config), "preview", "--out", str(out)]) == 0
    assert f"wrote {len(SAMPLES)} example mails" in capsys.readouterr().out
    for sample in SAMPLES:
        msg = message_from_bytes((out / f"{sample.stem}.eml").read_bytes(), policy=default)
        assert msg["From"].addresses[0].addr_spec == TOWN_MAILBOX  # the user's config, not a made-up one
        assert msg["X-SMAT-Purpose"]
        page = (out / f"{sample.stem}.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "Test Town Council" in page
        assert f"{sample.stem}.html" in (out / "index.html").read_text(encoding="utf-8")
    # nothing touched: no database made, no outbox folder, nothing written beside the config
    assert not database.exists() and not (tmp_path / "outbox").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "preview"]


def test_a_new_kind_of_mail_without_an_example_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    shutil.copytree(templates / "query", templates / "reminder")  # a new kind of mail, no row in SAMPLES
    config = write_config(tmp_path)
    args = ["--config", str(config), "preview", "--out", str(tmp_path / "out"), "--templates", str(templates)]
    assert cli.main(args) == 1
    assert "templates/reminder/ has no example" in capsys.readouterr().err


def test_a_template_that_leaves_a_variable_unfilled_fails_the_preview(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    body = templates / "query" / "body.txt"
    body.write_text(body.read_text(encoding="utf-8") + "{{ no_such_variable }}\n", encoding="utf-8")
    config = write_config(tmp_path)
    args = ["--config", str(config), "preview", "--out", str(tmp_path / "out"), "--templates", str(templates)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "templates/query/ could not be rendered: 'no_such_variable' is undefined" in err
    assert "no query mail to resident" in err

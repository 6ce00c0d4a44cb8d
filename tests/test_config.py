"""intake.config: the example loads; every mistake is one sentence naming the file and the key."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from support import TOWN_MAILBOX, base_config, to_toml, write_config

from intake.config import ConfigError, ensure_secret_file, from_dict, load

REPO = Path(__file__).resolve().parent.parent


def config_error(path: Path) -> str:
    """Load *path*, expect a ConfigError, check it is one sentence about that file; return it."""
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message, message
    assert message.endswith("."), message
    return message


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the example -------------------------------------------------------------------------


@pytest.fixture
def example(tmp_path):
    """config.example.toml copied into a temporary folder (its secret lives in var/secret.key, made by init)."""
    path = tmp_path / "config.toml"
    shutil.copy(REPO / "config.example.toml", path)
    return path


def test_example_config_loads_with_biggleswade_roster(example):
    settings = load(example)
    assert settings.council.name == "Biggleswade Town Council"
    assert settings.council.timezone == "Europe/London"
    assert settings.mailbox.address == "smat.info@biggleswadetowncouncil.gov.uk"
    assert settings.mailbox.domain == "biggleswadetowncouncil.gov.uk"
    assert [(p.email, p.role) for p in settings.reviewers] == [
        ("clerk@biggleswadetowncouncil.gov.uk", "clerk"),
        ("deputy.clerk@biggleswadetowncouncil.gov.uk", "deputy_clerk"),
        ("communications@biggleswadetowncouncil.gov.uk", "smat"),
    ]
    assert settings.role_of("Cllr.Example@BiggleswadeTownCouncil.gov.uk") == "councillor"
    assert settings.role_of("someone@example.org") == "public"
    assert settings.imap is None and settings.smtp is None
    assert settings.listener is not None and settings.listener.port == 8025
    assert settings.outbox.max_attempts == 30 and settings.outbox.retry_seconds == 60
    assert settings.digest.time == "08:00"


def test_example_paths_are_anchored_at_the_config_folder(example, tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    settings = load(example)
    assert settings.database_url == f"sqlite:///{tmp_path}/var/smat-intake.db"
    assert settings.outbox.folder == tmp_path / "var" / "outbox"
    assert settings.base_dir == tmp_path


def test_every_documented_key_of_the_example_is_known_to_the_loader(example, monkeypatch):
    # Uncomment the documented-but-commented [imap] and [smtp] sections and secret_env:
    # every key the example documents must load.
    lines, uncommenting = [], False
    for line in example.read_text().splitlines():
        if line in ("# [imap]", "# [smtp]"):
            uncommenting = True
        elif not line.startswith("# "):
            uncommenting = False
        if uncommenting or line.startswith("# secret_env"):
            line = line[2:]
        lines.append(line)
    monkeypatch.setenv("SMAT_IMAP_PASSWORD", "imap-secret")
    monkeypatch.setenv("SMAT_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("SMAT_SECRET", "a-long-enough-secret-for-tests")
    example.write_text("\n".join(lines))
    settings = load(example)
    assert settings.imap is not None and settings.imap.host == "outlook.office365.com"
    assert settings.imap.password == "imap-secret"
    assert settings.imap.processed_folder == "Processed"
    assert settings.smtp is not None and settings.smtp.host == "smtp.office365.com" and settings.smtp.port == 587
    assert settings.smtp.password == "smtp-secret"
    assert settings.security.secret == b"a-long-enough-secret-for-tests"


# --- mistakes: one sentence naming file and key ------------------------------------------


def test_unknown_key_names_file_and_key_with_suggestion(tmp_path):
    path = write_config(tmp_path, listener={"host": "127.0.0.1", "prot": 8025})
    message = config_error(path)
    assert "[listener] prot is not a known key" in message
    assert "did you mean port?" in message


def test_misspelt_required_key_is_named_as_a_typo(tmp_path):
    imap = {"hostname": "imap.town.example", "username": TOWN_MAILBOX, "password": "x"}
    message = config_error(write_config(tmp_path, imap=imap))
    assert "[imap] hostname is not a known key (did you mean host?)" in message


def test_misspelt_key_in_people_names_the_entry(tmp_path):
    people = [
        {"name": "A", "email": "a@town.example", "role": "smat"},
        {"name": "B", "email": "b@town.example", "rol": "smat"},
    ]
    message = config_error(write_config(tmp_path, people=people))
    assert "[[people]] #2 rol is not a known key (did you mean role?)" in message


def test_unknown_section_names_it_with_suggestion(tmp_path):
    message = config_error(write_config(tmp_path, imapp={"host": "x"}))
    assert "[imapp] is not a known section" in message
    assert "did you mean [imap]?" in message


def test_wrong_type_names_key_and_value(tmp_path):
    message = config_error(write_config(tmp_path, listener={"port": "abc"}))
    assert "[listener] port must be a whole number" in message
    assert '"abc"' in message


def test_port_out_of_range_is_refused(tmp_path):
    message = config_error(write_config(tmp_path, listener={"port": 70000}))
    assert "[listener] port must be a port number between 1 and 65535, not 70000" in message


def test_boolean_is_not_a_number(tmp_path):
    message = config_error(write_config(tmp_path, outbox={"folder": "outbox", "max_attempts": True}))
    assert "[outbox] max_attempts must be a whole number" in message


def test_missing_required_key_is_named(tmp_path):
    message = config_error(write_config(tmp_path, mailbox={}))
    assert "[mailbox] address is required but missing" in message


def test_missing_required_section_is_named(tmp_path):
    message = config_error(write_config(tmp_path, council=None))
    assert "[council] is required but missing" in message


def test_unknown_role_names_the_people_entry(tmp_path):
    people = [
        {"name": "A", "email": "a@town.example", "role": "clerk"},
        {"name": "B", "email": "b@town.example", "role": "mayor"},
    ]
    message = config_error(write_config(tmp_path, people=people))
    assert "[[people]] #2 role" in message
    assert '"mayor"' in message
    assert "clerk, deputy_clerk, smat, councillor, staff" in message


@pytest.mark.parametrize("bad", ["clerk at town.example", "Clerk <clerk@town.example>", "clerk@", "clerk@localhost"])
def test_bad_address_is_named(tmp_path, bad):
    people = [{"name": "A", "email": bad, "role": "clerk"}]
    message = config_error(write_config(tmp_path, people=people))
    assert "[[people]] #1 email must be an email address" in message
    assert bad in message


def test_bad_mailbox_address_is_named(tmp_path):
    message = config_error(write_config(tmp_path, mailbox={"address": "smat.info"}))
    assert '[mailbox] address must be an email address such as name@example.org, not "smat.info"' in message


def test_duplicate_person_is_named_whatever_the_case(tmp_path):
    people = [
        {"name": "A", "email": "clerk@town.example", "role": "clerk"},
        {"name": "B", "email": "Clerk@Town.Example", "role": "smat"},
    ]
    message = config_error(write_config(tmp_path, people=people))
    assert "[[people]] #2 email" in message
    assert "appears twice in the roster" in message


def test_password_env_naming_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SMAT_TEST_UNSET_PASSWORD", raising=False)
    imap = {"host": "imap.town.example", "username": TOWN_MAILBOX, "password_env": "SMAT_TEST_UNSET_PASSWORD"}
    message = config_error(write_config(tmp_path, imap=imap))
    assert "[imap] password_env names the environment variable SMAT_TEST_UNSET_PASSWORD, which is not set" in message


def test_password_env_reads_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SMAT_TEST_PASSWORD", "s3cret")
    imap = {
        "host": "imap.town.example",
        "username": TOWN_MAILBOX,
        "password_env": "SMAT_TEST_PASSWORD",
        "security": "none",
    }
    settings = load(write_config(tmp_path, imap=imap))
    assert settings.imap is not None
    assert settings.imap.password == "s3cret"
    assert settings.imap.port == 143  # the default follows the security mode


def test_imap_without_any_password_is_refused(tmp_path):
    message = config_error(write_config(tmp_path, imap={"host": "imap.town.example", "username": TOWN_MAILBOX}))
    assert "[imap] password is required" in message


def test_invalid_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, '[council]\nname = "Test\n')
    message = config_error(path)
    assert "is not valid TOML" in message
    assert "line 2" in message


def test_missing_file_says_how_to_make_one(tmp_path):
    message = config_error(tmp_path / "nope.toml")
    assert "no such config file" in message
    assert "config.example.toml" in message


def test_invalid_timezone_is_named(tmp_path):
    message = config_error(write_config(tmp_path, council={"name": "T", "timezone": "Mars/Olympus"}))
    assert '[council] timezone must be a time zone such as "Europe/London", not "Mars/Olympus"' in message


IMAP = {"host": "imap.town.example", "username": TOWN_MAILBOX, "password": "x"}


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"imap": {**IMAP, "processed_folder": "INBOX"}}, "[imap] processed_folder must differ from folder"),
        ({"imap": {**IMAP, "poll_seconds": 2}}, "[imap] poll_seconds must be at least 5, not 2"),
        ({"imap": {**IMAP, "idle": "yes"}}, '[imap] idle must be true or false, not "yes"'),
        ({"imap": {**IMAP, "security": "tls"}}, '[imap] security must be one of ssl, starttls, none, not "tls"'),
        ({"smtp": {"host": 25}}, "[smtp] host must be a string in quotes, not 25"),
        ({"listener": {"protocol": "http"}}, '[listener] protocol must be one of smtp, lmtp, not "http"'),
        ({"digest": {"time": "25:00"}}, '[digest] time must be a time of day such as "08:00", not "25:00"'),
        (
            {"database": {"url": "mysql://x"}},
            '[database] url must be a sqlite:/// or postgresql+psycopg:// URL, not "mysql',
        ),
        ({"review": {"approvals_required": 0}}, "[review] approvals_required must be at least 1, not 0"),
        ({"council": {"name": "T", "email": "office"}}, "[council] email must be an email address such as name@"),
        (
            {"security": {"secret": "x" * 32, "require_authenticated_replies": True}},
            "[security] trusted_authserv_id must name your mail server when require_authenticated_replies is true",
        ),
        (
            {"people": [{"name": "A", "email": "a@town.example", "role": "smat", "active": 1}]},
            "[[people]] #1 active must be true or false, not 1",
        ),
    ],
)
def test_each_kind_of_mistake_is_named_in_its_own_words(tmp_path, sections, expected):
    assert expected in config_error(write_config(tmp_path, **sections))


def test_a_section_that_is_not_a_table_is_named(tmp_path):
    path = write(tmp_path, 'listener = "on"\n' + to_toml(base_config()))
    assert "[listener] must be a table, not a string" in config_error(path)
    path = write(tmp_path, to_toml(base_config(people=None)) + '[people]\nname = "A"\n')
    assert "[[people]] must be a list of tables, each starting with [[people]]" in config_error(path)


def test_smtp_port_follows_the_security_mode(tmp_path):
    for security, port in (("ssl", 465), ("starttls", 587), ("none", 25)):
        settings = load(write_config(tmp_path, smtp={"host": "smtp.town.example", "security": security}))
        assert settings.smtp is not None and settings.smtp.port == port
    settings = load(write_config(tmp_path, imap=IMAP))
    assert settings.imap is not None and settings.imap.port == 993


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[council]\nname = "T\xe9st"\n')
    assert config_error(path) == f"{path}: is not UTF-8 text."


def test_from_dict_reports_against_the_given_file(tmp_path):
    data = base_config(listener={"port": "abc"})
    with pytest.raises(ConfigError, match=r"^/somewhere/config\.toml: \[listener\] port must be a whole number"):
        from_dict(data, Path("/somewhere/config.toml"))


# --- paths and the secret ----------------------------------------------------------------


def test_relative_sqlite_path_and_outbox_are_anchored_at_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    path = write_config(folder, database_url="sqlite:///data/smat.db", outbox={"folder": "mail/out"})
    monkeypatch.chdir(tmp_path)
    settings = load(Path("etc/config.toml"))
    assert settings.database_url == f"sqlite:///{folder.resolve()}/data/smat.db"
    assert settings.outbox.folder == folder.resolve() / "mail" / "out"
    assert settings.outbox.folder.is_absolute()
    assert path.exists()


def test_absolute_sqlite_path_and_memory_are_left_alone(tmp_path):
    settings = load(write_config(tmp_path, database_url="sqlite:////var/lib/smat/smat.db"))
    assert settings.database_url == "sqlite:////var/lib/smat/smat.db"
    settings = load(write_config(tmp_path, database_url="sqlite:///:memory:"))
    assert settings.database_url == "sqlite:///:memory:"


def test_postgresql_url_is_kept_as_given(tmp_path):
    url = "postgresql+psycopg://smat@db.town.example/smat_intake"
    assert load(write_config(tmp_path, database_url=url)).database_url == url


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def test_load_writes_nothing_and_defers_a_missing_secret_to_init(tmp_path, monkeypatch):
    path = write_config(tmp_path, security={"secret_file": "keys/secret.key"})
    before = files_under(tmp_path)
    monkeypatch.chdir(tmp_path)
    settings = load(path)
    assert files_under(tmp_path) == before  # no keys/ folder, no secret file, nothing else
    with pytest.raises(ConfigError) as info:
        _ = settings.security.secret
    message = str(info.value)
    assert message.startswith(f"{path}: [security] no secret yet: run `smat-intake init` first"), message
    assert str(tmp_path / "keys" / "secret.key") in message
    assert "secret_env" in message
    assert files_under(tmp_path) == before  # asking for the secret does not make it either


def test_loading_the_example_writes_nothing(example, tmp_path):
    before = files_under(tmp_path)
    load(example)
    assert files_under(tmp_path) == before


def test_init_makes_the_secret_file_once_with_mode_0600_and_load_reads_it(tmp_path):
    path = write_config(tmp_path, security={"secret_file": "keys/secret.key"})
    secret_file = tmp_path / "keys" / "secret.key"
    settings = load(path)  # loaded before the file exists, as `init` does
    assert ensure_secret_file(settings.security) is True
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    first = secret_file.read_bytes().strip()
    assert len(first) >= 32
    assert settings.security.secret == first  # read when first needed, so settings loaded earlier still work
    assert [p.name for p in secret_file.parent.iterdir()] == ["secret.key"]  # no temporary file left behind
    mtime = secret_file.stat().st_mtime_ns
    assert ensure_secret_file(load(path).security) is False
    assert load(path).security.secret == first
    assert secret_file.stat().st_mtime_ns == mtime


def test_default_secret_file_lives_beside_the_config(tmp_path):
    path = write_config(tmp_path, security=None)
    assert ensure_secret_file(load(path).security) is True
    secret = load(path).security.secret
    assert (tmp_path / "var" / "secret.key").read_bytes().strip() == secret


def test_a_configured_secret_needs_no_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, security={"secret": "an-inline-secret-long-enough"})
    assert ensure_secret_file(load(path).security) is False
    assert load(path).security.secret == b"an-inline-secret-long-enough"
    monkeypatch.setenv("SMAT_TEST_SECRET", "a-secret-from-the-environment")
    path = write_config(tmp_path, security={"secret_env": "SMAT_TEST_SECRET"})
    assert ensure_secret_file(load(path).security) is False
    assert load(path).security.secret == b"a-secret-from-the-environment"
    assert not (tmp_path / "var").exists()


def test_too_short_secret_file_is_refused(tmp_path):
    (tmp_path / "short.key").write_text("abc\n")
    message = config_error(write_config(tmp_path, security={"secret_file": "short.key"}))
    assert "[security] secret_file" in message
    assert "too short" in message


def test_too_short_inline_or_env_secret_is_refused(tmp_path, monkeypatch):
    message = config_error(write_config(tmp_path, security={"secret": "short"}))
    assert "[security] secret gives too short a secret (16 characters at least)" in message
    monkeypatch.setenv("SMAT_TEST_SECRET", "short")
    message = config_error(write_config(tmp_path, security={"secret_env": "SMAT_TEST_SECRET"}))
    assert "[security] secret_env gives too short a secret" in message


def test_secret_and_secret_env_together_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SMAT_TEST_SECRET", "x" * 32)
    message = config_error(write_config(tmp_path, security={"secret": "y" * 32, "secret_env": "SMAT_TEST_SECRET"}))
    assert "[security] secret and secret_env are both set" in message


def test_inactive_member_is_not_a_reviewer_and_counts_as_public(tmp_path):
    settings = load(write_config(tmp_path))
    emails = {p.email for p in settings.reviewers}
    assert emails == {"clerk@town.example", "deputy@town.example", "comms@town.example"}
    assert settings.role_of("former@town.example") == "public"
    assert settings.role_of("cllr@town.example") == "councillor"


def test_to_toml_helper_round_trips(tmp_path):
    # the helper the other test files rely on writes what it was given
    import tomllib

    data = base_config("sqlite:///x.db", listener={"host": "127.0.0.1", "port": 8025})
    assert tomllib.loads(to_toml(data)) == data

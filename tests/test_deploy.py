"""deploy/: what an operator copies to run Komunalka for a city, checked against the code it runs.

The systemd units are checked as files (INI, the commands they run, `systemd-analyze verify` where it is
installed), not run under systemd. The nginx configuration runs under a real nginx where one is installed,
in front of two fake bot processes; without nginx those tests are skipped.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from sqlalchemy.engine import make_url

from bot.settings import Settings
from tests.test_telegram_process import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "komunalka.env.example"
NGINX_CONF = DEPLOY / "nginx-komunalka.conf"
UNITS = ["komunalka@.service", "komunalka-migrate.service", "komunalka-backup.service", "komunalka-backup.timer",
         "komunalka-photos-purge.service", "komunalka-photos-purge.timer"]
INSTALLED = "/opt/komunalka"  # where the units expect the checkout, its virtualenv in .venv
INSTALLED_PYTHON = f"{INSTALLED}/.venv/bin/python"
DEMO = ROOT / "demo" / "register.csv"
CLOCK = "2026-11-20T12:00:00+02:00"  # the demo register's dates are before "today"
ASSIGNMENT = re.compile(r"^#?\s*(KOMUNALKA_[A-Z0-9_]+)=(.*)$")


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(settings)
    return env


def run_bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], env=env, capture_output=True,
                          text=True, timeout=120)


# --- the environment file ---------------------------------------------------------------------------


def example_assignments() -> dict[str, str]:
    """Every NAME=value line of the example, commented or not."""
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            found[match[1]] = match[2]
    return found


def field(name: str) -> str:
    return name.removeprefix("KOMUNALKA_").lower()


def test_every_komunalka_name_in_the_env_example_is_a_settings_field():
    named = set(re.findall(r"\bKOMUNALKA_[A-Z0-9_]+", ENV_EXAMPLE.read_text(encoding="utf-8")))
    assert named, "the example names no setting"
    unknown = sorted(n for n in named if field(n) not in Settings.model_fields)
    assert unknown == [], f"not settings (Settings ignores unknown names silently): {unknown}"


def test_every_setting_is_in_the_env_example():
    named = set(re.findall(r"\bKOMUNALKA_[A-Z0-9_]+", ENV_EXAMPLE.read_text(encoding="utf-8")))
    missing = sorted(f"KOMUNALKA_{f.upper()}" for f in Settings.model_fields if f"KOMUNALKA_{f.upper()}" not in named)
    assert missing == [], f"add them to deploy/komunalka.env.example, with a line on what they do: {missing}"


def test_the_env_example_with_every_line_uncommented_loads_through_settings(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("KOMUNALKA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    assignments = example_assignments()
    uncommented = tmp_path / "komunalka.env"
    uncommented.write_text("".join(f"{n}={v}\n" for n, v in assignments.items()), encoding="utf-8")
    loaded = Settings(_env_file=uncommented)
    for name, value in assignments.items():
        alone = Settings.model_validate({field(name): value})  # the value alone (the environment is emptied above)
        assert getattr(loaded, field(name)) == getattr(alone, field(name)), name


def test_the_env_example_as_it_ships_passes_the_checks_run_makes_at_start(tmp_path, monkeypatch):
    from bot.serve import run_problems

    for name in [n for n in os.environ if n.startswith("KOMUNALKA_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=ENV_EXAMPLE)
    assert run_problems(settings) == []
    assert settings.public_url and settings.telegram_webhook_secret, "several processes need webhook mode"
    assert settings.http_host == "127.0.0.1", "/metrics must not face the internet"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.clock is None


def test_the_env_example_holds_placeholders_and_no_password():
    assignments = example_assignments()
    for name in ("KOMUNALKA_TELEGRAM_TOKEN", "KOMUNALKA_TELEGRAM_WEBHOOK_SECRET", "KOMUNALKA_VIBER_TOKEN"):
        assert assignments[name] == "CHANGE-ME"
    assert make_url(assignments["KOMUNALKA_DATABASE_URL"]).password is None


def test_the_env_example_is_in_the_syntax_systemd_and_dotenv_read_alike():
    """systemd's EnvironmentFile= keeps quotes and a trailing comment as part of a value; dotenv drops them."""
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        assert re.fullmatch(r"KOMUNALKA_[A-Z0-9_]+", name), number
        assert value and value == value.strip() and not re.search(r"[\"'#\s]", value), number


# --- the systemd units -----------------------------------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    """A unit file as INI: strict (no key twice in a section), keys kept as written, % left alone."""
    parser = configparser.ConfigParser(strict=True, interpolation=None, delimiters=("=",), comment_prefixes=("#", ";"),
                                       empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"), source=name)
    return parser


def exec_start(name: str) -> list[str]:
    """The unit's ExecStart with the installed paths mapped to this checkout and this test's Python."""
    words = shlex.split(unit(name)["Service"]["ExecStart"])
    return [sys.executable if w == INSTALLED_PYTHON else w.replace(INSTALLED, str(ROOT)) for w in words]


def bot_command(words: list[str]) -> list[str]:
    """The run_bot.py subcommand words of a command line: after run_bot.py, before the first option."""
    start = next(i for i, w in enumerate(words) if w.endswith("/run_bot.py")) + 1
    command = []
    for word in words[start:]:
        if word.startswith("-"):
            break
        command.append(word)
    return command


@pytest.mark.parametrize("name", UNITS)
def test_every_unit_parses_as_ini_with_the_sections_systemd_expects(name):
    sections = unit(name).sections()
    assert sections[0] == "Unit"
    assert ("Timer" if name.endswith(".timer") else "Service") in sections


@pytest.mark.parametrize("name", ["komunalka@.service", "komunalka-migrate.service", "komunalka-photos-purge.service"])
def test_the_units_run_real_run_bot_commands(name):
    words = exec_start(name)
    command = bot_command(words)
    assert command, words
    result = run_bot(clean_env(), *command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: run_bot.py {' '.join(command)}" in result.stdout


def test_every_installed_path_the_units_name_is_in_the_checkout():
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        for path in set(re.findall(rf"{INSTALLED}/([\w./-]+)", text)):
            if path.startswith(".venv/"):
                assert path == ".venv/bin/python", name
            else:
                assert (ROOT / path).exists(), f"{name}: {INSTALLED}/{path}"


def test_a_bot_instance_listens_on_its_instance_port_whatever_the_environment_file_says():
    service = unit("komunalka@.service")["Service"]
    words = shlex.split(service["ExecStart"])
    assert words[:2] == ["/usr/bin/env", "KOMUNALKA_HTTP_PORT=%i"]
    assert service["EnvironmentFile"] == "/etc/komunalka/komunalka.env"


def test_a_bot_instance_runs_sandboxed_as_komunalka_and_restarts_only_on_failure():
    service = unit("komunalka@.service")["Service"]
    assert service["User"] == "komunalka"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert "/var/lib/komunalka" in service["ReadWritePaths"].split()
    assert service["WorkingDirectory"] == "/var/lib/komunalka"
    assert service["PrivateTmp"] == "yes"
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # what run_bot.py exits with on a configuration error


def test_systemd_waits_longer_than_the_bots_clean_stop_before_killing_it():
    from bot import scheduler
    from bot.delivery import pipeline

    service = unit("komunalka@.service")["Service"]
    assert service["KillSignal"] == "SIGTERM"
    http = re.search(r"shutdown_timeout=(\d+)", (ROOT / "bot" / "http_server.py").read_text(encoding="utf-8"))
    assert http, "bot/http_server.py no longer sets aiohttp's shutdown_timeout: recount the stop budget"
    channels = 2  # Telegram and Viber, each pipeline waiting for its sends in hand
    clean_stop = scheduler.STOP_GRACE_S + int(http[1]) + channels * pipeline.STOP_GRACE_S
    assert int(service["TimeoutStopSec"]) > clean_stop


def test_the_bot_instances_start_after_the_migrations_and_the_migrations_unit_runs_each_time():
    bot, migrate = unit("komunalka@.service"), unit("komunalka-migrate.service")
    assert "komunalka-migrate.service" in bot["Unit"]["Requires"].split()
    assert "komunalka-migrate.service" in bot["Unit"]["After"].split()
    assert migrate["Service"]["Type"] == "oneshot"
    assert migrate["Service"].get("RemainAfterExit", "no") == "no"


def test_the_migrations_unit_brings_a_new_database_to_the_newest_schema_and_exits_0(tmp_path):
    database = tmp_path / "komunalka.db"
    words = exec_start("komunalka-migrate.service")
    result = subprocess.run(words, env=clean_env(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{database}"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database schema at revision ")
    with sqlite3.connect(database) as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    newest = max(p.name.split("_")[0] for p in (ROOT / "storage" / "migrations" / "versions").glob("[0-9]*_*.py"))
    assert revision == newest


@pytest.mark.parametrize("job", ["komunalka-backup", "komunalka-photos-purge"])
def test_the_nightly_timers_start_their_services(job):
    timer = unit(f"{job}.timer")
    assert timer["Timer"].get("Unit", f"{job}.service") == f"{job}.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verify_finds_nothing_wrong_in_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units are checked as INI only")
    for name in UNITS:  # as installed, but running this checkout with this Python
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED_PYTHON, sys.executable).replace(INSTALLED, str(ROOT)),
                                     encoding="utf-8")
    targets = [str(tmp_path / n.replace("@.", "@8081.")) for n in UNITS]
    result = subprocess.run([analyze, "verify", *targets], capture_output=True, text=True, timeout=60)
    # an unknown key or a bad value is only a warning (exit 0): any line about our files is a failure
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if str(tmp_path) in line or "komunalka" in line]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


# --- backups ------------------------------------------------------------------------------------------------


def backup_command(backups: Path, keep: int | None = None) -> list[str]:
    """komunalka-backup.service's command, writing into ``backups``."""
    words = [str(backups) if w == "/var/backups/komunalka" else w for w in exec_start("komunalka-backup.service")]
    if keep is not None:
        words[words.index("--keep") + 1] = str(keep)
    return words


def counts_all_zero(import_output: str) -> bool:
    counts = re.findall(r"(?:added|updated) (\d+)", import_output)
    return bool(counts) and all(c == "0" for c in counts)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The demo register in a SQLite database, as `run_bot.py accounts import` leaves it (once per module)."""
    database = tmp_path_factory.mktemp("imported") / "komunalka.db"
    result = run_bot(clean_env(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{database}", KOMUNALKA_CLOCK=CLOCK),
                     "accounts", "import", str(DEMO))
    assert result.returncode == 0, result.stderr
    return database


@pytest.fixture
def bot_database(tmp_path, imported):
    """A copy of it for one test, and the environment that points the bot and the backup at it."""
    database = tmp_path / "komunalka.db"
    shutil.copyfile(imported, database)
    return database, clean_env(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{database}", KOMUNALKA_CLOCK=CLOCK)


@pytest.fixture
def live_database(tmp_path, bot_database):
    """The bot's database with a change the bot committed that is still only in the WAL file, held open."""
    database, env = bot_database
    holder = sqlite3.connect(database, isolation_level=None)  # while it is open, nothing checkpoints on close
    holder.execute("SELECT count(*) FROM accounts").fetchone()
    moved = tmp_path / "moved.csv"
    moved.write_text(DEMO.read_text(encoding="utf-8").replace("12 Khreshchatyk", "14 Khreshchatyk"), encoding="utf-8")
    result = run_bot(env, "accounts", "import", str(moved))
    assert result.returncode == 0 and not counts_all_zero(result.stdout), result.stdout + result.stderr
    yield database, env, moved, holder
    holder.close()


def test_the_sqlite_backup_of_a_live_database_holds_what_was_committed_and_the_bot_opens_it(tmp_path,
                                                                                          live_database):
    database, env, moved, holder = live_database
    assert Path(f"{database}-wal").stat().st_size > 0, "the moved addresses should be in the WAL file only"
    holder.execute("BEGIN IMMEDIATE")  # a write in progress while the copy is taken
    holder.execute("UPDATE accounts SET address = 'not committed'")
    backups = tmp_path / "backups"
    result = subprocess.run(backup_command(backups), env=env, capture_output=True, text=True, timeout=120)
    holder.execute("ROLLBACK")
    assert result.returncode == 0, result.stderr
    (copy,) = backups.iterdir()
    assert re.fullmatch(r"komunalka-\d{8}T\d{6}Z\.sqlite3", copy.name)
    assert str(copy) in result.stdout and "schema revision" in result.stdout
    assert copy.stat().st_mode & 0o077 == 0, "a copy of residents' data is the owner's alone"
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        addresses = {a for (a,) in db.execute("SELECT address FROM accounts")}
    assert "Kyiv, 14 Khreshchatyk St" in addresses and "not committed" not in addresses, addresses
    assert not [a for a in addresses if "12 Khreshchatyk" in a], addresses
    reopened = run_bot({**env, "KOMUNALKA_DATABASE_URL": f"sqlite+aiosqlite:///{copy}"},
                       "accounts", "import", str(moved))
    assert reopened.returncode == 0, reopened.stderr
    assert counts_all_zero(reopened.stdout), reopened.stdout  # the copy already holds everything


def test_the_sqlite_backup_needs_no_sqlite3_shell(tmp_path, bot_database):
    _database, env = bot_database
    bare = tmp_path / "bin"
    bare.mkdir()  # a PATH with no sqlite3 on it
    result = subprocess.run(backup_command(tmp_path / "backups"), env={**env, "PATH": str(bare)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "backups").glob("komunalka-*.sqlite3"))) == 1


def test_only_the_newest_copies_are_kept_and_other_files_are_left_alone(tmp_path, bot_database):
    _database, env = bot_database
    backups = tmp_path / "backups"
    backups.mkdir()
    older = [backups / f"komunalka-2026010{day}T033000Z.sqlite3" for day in (1, 2, 3)]
    others = [backups / "notes.txt", backups / "komunalka-before-upgrade.sqlite3"]
    for path in older + others:
        path.write_bytes(b"x")
    result = subprocess.run(backup_command(backups, keep=2), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "2 older copies removed, keeping 2" in result.stdout
    left = sorted(p.name for p in backups.iterdir())
    assert older[2].name in left and older[0].name not in left and older[1].name not in left
    assert {p.name for p in others} <= set(left)
    assert len([n for n in left if re.fullmatch(r"komunalka-\d{8}T\d{6}Z\.sqlite3", n)]) == 2


def test_a_backup_of_a_missing_database_fails_creates_nothing_and_keeps_the_old_copies(tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "komunalka-20260101T033000Z.sqlite3"
    old.write_bytes(b"x")
    missing = tmp_path / "typo.db"
    env = clean_env(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{missing}")
    result = subprocess.run(backup_command(backups, keep=1), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "no such database file" in result.stderr
    assert not missing.exists()
    assert [p.name for p in backups.iterdir()] == [old.name]


def test_a_url_the_backup_cannot_use_is_refused_without_echoing_its_password(tmp_path):
    for url in ("mysql://komunalka:s3cret@db/komunalka", "not a url s3cret"):
        result = subprocess.run(backup_command(tmp_path), env=clean_env(KOMUNALKA_DATABASE_URL=url),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "s3cret" not in result.stdout + result.stderr


async def test_a_postgresql_backup_restores_into_a_database_the_bot_opens(tmp_path):
    from tests.conftest import _drop_postgres, _postgres_database

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed: the PostgreSQL backup is untested here")
    made = await _postgres_database()
    if isinstance(made, str):
        pytest.skip(made)
    url, name = made
    restored = await _postgres_database()
    assert not isinstance(restored, str)
    try:
        env = clean_env(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_CLOCK=CLOCK)
        assert run_bot(env, "accounts", "import", str(DEMO)).returncode == 0
        backups = tmp_path / "backups"
        result = subprocess.run(backup_command(backups), env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        (dump,) = backups.iterdir()
        assert dump.suffix == ".dump"
        target = make_url(restored[0])
        assert target.password is None or target.password not in result.stdout + result.stderr
        # the restore the README describes: into an empty database, owned by whoever restores it
        pg = {**env, "PGHOST": target.host or "", "PGPORT": str(target.port or 5432), "PGUSER": target.username or "",
              "PGPASSWORD": target.password or "", "PGDATABASE": target.database or ""}
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", target.database or "",
                               str(dump)], env=pg, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        reopened = run_bot({**env, "KOMUNALKA_DATABASE_URL": restored[0]}, "accounts", "import", str(DEMO))
        assert reopened.returncode == 0, reopened.stderr
        assert counts_all_zero(reopened.stdout), reopened.stdout
    finally:
        await _drop_postgres(url, name)
        await _drop_postgres(restored[0], restored[1])


# --- nginx ------------------------------------------------------------------------------------------------


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def nginx_version(nginx: str) -> tuple[int, ...]:
    said = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=30).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", said)
    return tuple(int(n) for n in match.groups()) if match else (0,)


class FakeBotProcess:
    """Stands in for one `run_bot.py run` behind nginx: answers with its name; serves the pictures every
    process of the bot 'sent' (the bot keeps them in the database), unless its database does not answer."""

    PICTURES = {"sent.png"}

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[str] = []
        self.drop_posts = False  # close the connection without an answer, as a process killed mid-request
        self.database_down = False  # pictures then get 503, as the bot answers when the database fails
        self.port = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.seen.append(f"{request.method} {request.path}")
        if self.drop_posts and request.method == "POST":
            assert request.transport is not None
            request.transport.close()
        if request.path.startswith("/viber/media/"):
            if self.database_down:
                return web.Response(status=503)
            if request.path.removeprefix("/viber/media/") not in self.PICTURES:
                return web.Response(status=404)
        return web.Response(text=self.name)


@pytest.fixture
async def proxy(tmp_path):
    """nginx with deploy/nginx-komunalka.conf (ports, certificate and IPv6 adapted) before two fake processes."""
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed: deploy/nginx-komunalka.conf is an untested example here")
    if nginx_version(nginx) < (1, 19, 5):
        pytest.skip("nginx older than 1.19.5 has no -e to keep its error log in the test's directory")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for nginx's TLS server")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=bot.example.city", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True, timeout=60)
    a, b = FakeBotProcess("a"), FakeBotProcess("b")
    await a.start()
    await b.start()
    http_port, https_port = free_port(), free_port()
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstreams = iter([a.port, b.port])
    conf, servers = re.subn(r"server 127\.0\.0\.1:\d+", lambda _m: f"server 127.0.0.1:{next(upstreams)}", conf)
    replacements = [
        (r"\n\s*listen \[::\]:\d+[^;]*;", ""),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (r"/etc/letsencrypt/live/bot\.example\.city/fullchain\.pem", str(tmp_path / "cert.pem")),
        (r"/etc/letsencrypt/live/bot\.example\.city/privkey\.pem", str(tmp_path / "key.pem")),
    ]
    for pattern, replacement in replacements:
        conf, count = re.subn(pattern, replacement, conf)
        assert count, f"deploy/nginx-komunalka.conf changed: {pattern!r} not found"
    assert servers == 2
    (tmp_path / "komunalka.conf").write_text(conf, encoding="utf-8")
    temp = "".join(f"{kind}_temp_path {tmp_path}/{kind}_temp;\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{temp}include {tmp_path}/komunalka.conf;\n}}\n", encoding="utf-8")
    command = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    server = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", https_port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        async with ClientSession() as client:
            yield client, f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", a, b
    finally:
        server.terminate()
        await server.wait()
        await a.stop()
        await b.stop()


async def fetch(client, method: str, url: str) -> tuple[int, str]:
    async with client.request(method, url, ssl=False, allow_redirects=False, data=b"{}" if method == "POST" else None,
                              headers={"Host": "bot.example.city"}) as response:
        return response.status, await response.text()


async def test_nginx_passes_the_webhooks_over_tls_and_keeps_health_and_metrics_private(proxy):
    client, https, http, a, b = proxy
    for path in ("/telegram/webhook", "/viber/webhook"):
        status, body = await fetch(client, "POST", https + path)
        assert (status, body in ("a", "b")) == (200, True)
        assert (await fetch(client, "GET", https + path))[0] == 403
    for path in ("/healthz", "/metrics", "/"):
        assert (await fetch(client, "GET", https + path))[0] == 404
    assert not [s for s in a.seen + b.seen if "healthz" in s or "metrics" in s]
    status, _ = await fetch(client, "POST", http + "/telegram/webhook")
    assert status == 301


async def test_nginx_sends_a_webhook_to_the_other_process_when_one_is_down(proxy):
    client, https, _http, a, b = proxy
    await a.stop()  # refuses connections, as while it restarts
    answers = [await fetch(client, "POST", https + "/telegram/webhook") for _ in range(4)]
    assert answers == [(200, "b")] * 4


async def test_nginx_resends_a_webhook_a_dying_process_took_without_answering(proxy):
    """The update reaches both processes; the bot records it by its id, so the second sees a duplicate."""
    client, https, _http, a, b = proxy
    a.drop_posts = True
    answers = [await fetch(client, "POST", https + "/viber/webhook") for _ in range(4)]
    assert answers == [(200, "b")] * 4
    assert "POST /viber/webhook" in a.seen


async def test_nginx_serves_a_picture_from_any_process_and_the_other_when_one_is_down(proxy):
    client, https, _http, a, b = proxy
    assert {await fetch(client, "GET", https + "/viber/media/sent.png") for _ in range(4)} == {(200, "a"), (200, "b")}
    assert (await fetch(client, "GET", https + "/viber/media/unknown.png"))[0] == 404  # not asked of the other
    assert sum("unknown.png" in s for s in a.seen + b.seen) == 1
    assert (await fetch(client, "POST", https + "/viber/media/sent.png"))[0] == 403
    await a.stop()  # refuses connections, as while it restarts
    assert [await fetch(client, "GET", https + "/viber/media/sent.png") for _ in range(4)] == [(200, "b")] * 4


async def test_a_picture_the_database_did_not_give_keeps_no_webhook_from_that_process(proxy):
    """A 503 goes back to Viber, which fetches again; nginx does not take the process out of rotation for it."""
    client, https, _http, a, b = proxy
    a.database_down = b.database_down = True
    assert {(await fetch(client, "GET", https + "/viber/media/sent.png"))[0] for _ in range(2)} == {503}
    answers = {await fetch(client, "POST", https + "/telegram/webhook") for _ in range(6)}
    assert answers == {(200, "a"), (200, "b")}

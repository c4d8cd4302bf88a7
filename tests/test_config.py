"""Settings: flags beat XSEQD_* variables beat defaults; every setting is documented."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from xseqd.config import Settings, add_arguments, env_name, resolve

ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_precedence_flag_env_default() -> None:
    env = {"XSEQD_PORT": "7000", "XSEQD_SLOT_TIME": "2.5", "XSEQD_HOST": "127.0.0.2"}
    settings = resolve(parse(["--port", "7001"]), env)
    assert settings.port == 7001  # flag wins
    assert settings.slot_time == 2.5 and settings.host == "127.0.0.2"  # env next
    assert settings.accounts == Settings().accounts  # default last
    assert resolve(parse(["--data-dir", "/tmp/x"]), {}).data_dir == Path("/tmp/x")


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        assert flag in readme, f"{flag} missing from README"
        assert env_name(f.name) in readme, f"{env_name(f.name)} missing from README"

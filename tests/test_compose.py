"""docker-compose.yml is valid (the docker client validates it; no engine needed) and
runs anvil and xseqd on the devnet's ports; its ``replicas`` profile adds PostgreSQL and
three xseqd replicas sharing it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> list[str]:
    """`docker compose` (v2 plugin) or Debian's `docker-compose` (installed by make)."""
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return ["docker", "compose"] if plugin.returncode == 0 else ["docker-compose"]


def test_compose_file_validates_with_both_services() -> None:
    done = subprocess.run(
        [*compose(), "config"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    default = {n for n, s in services.items() if "replicas" not in s.get("profiles", [])}
    assert default == {"anvil", "xseqd"}  # the replicas profile adds the others
    ports = {
        name: [str(p.get("published", p) if isinstance(p, dict) else p) for p in s["ports"]]
        for name, s in services.items()
    }
    assert any("8545" in p for p in ports["anvil"]) and any("9545" in p for p in ports["xseqd"])
    assert services["xseqd"]["environment"]["XSEQD_L1_RPC"] == "http://anvil:8545"


def test_xseqd_binds_every_interface_only_with_a_comment_and_publishes_on_loopback() -> None:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    hosts = [i for i, line in enumerate(lines) if "XSEQD_HOST" in line]
    assert len(hosts) == 2  # the xseqd service and the replicas' shared environment
    for at in hosts:
        assert "0.0.0.0" in lines[at]
        comment = " ".join(
            line for line in lines[max(0, at - 5) : at] if line.strip().startswith("#")
        )
        assert "0.0.0.0" in comment and "cheat" in comment and "XSEQD_NO_CHEATS" in comment
    done = subprocess.run(
        [*compose(), "--profile", "replicas", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for service in yaml.safe_load(done.stdout)["services"].values():
        for port in service["ports"]:  # long form (compose v2) or short (docker-compose v1)
            host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", port


def test_the_replicas_profile_shares_one_postgres_and_one_l1() -> None:
    done = subprocess.run(
        [*compose(), "--profile", "replicas", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    replicas = {n: s for n, s in services.items() if n.startswith("xseqd-r")}
    assert len(replicas) == 3 and "postgres" in services
    ids, ports, dbs = set(), set(), set()
    for name, s in replicas.items():
        env = s["environment"]
        assert env["XSEQD_DB"].startswith("postgresql://") and "@postgres:" in env["XSEQD_DB"]
        assert env["XSEQD_L1_RPC"] == "http://anvil:8545"
        assert env["XSEQD_REPLICA_URL"] == f"http://{name}:9545"  # where followers forward
        ids.add(env["XSEQD_REPLICA_ID"])
        dbs.add(env["XSEQD_DB"])
        for port in s["ports"]:
            ports.add(str(port.get("published") if isinstance(port, dict) else port.split(":")[1]))
    assert len(ids) == 3 and len(ports) == 3 and len(dbs) == 1  # one endpoint each, one log


def test_an_invalid_compose_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  x:\n    ports: 12\n")
    done = subprocess.run(
        [*compose(), "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0

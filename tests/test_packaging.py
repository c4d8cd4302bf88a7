"""xseqd installed, not just checked out: a wheel carries the contract artifacts and the
default rollups, declares every distribution it imports, and runs `xseqd devnet` from an
empty directory in a fresh venv (with and without an L1); anvil is found by flag, checkout
or PATH, with one clear error naming all three when it is nowhere."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import Devnet, free_port, kill_leftovers, rpc, wait_gone
from xseqd.accounts import dev_accounts
from xseqd.l1 import anvil as anvil_module
from xseqd.l1.anvil import AnvilError, anvil_binary, checkout_anvil

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    return {
        normalize(re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0])
        for d in PYPROJECT["project"]["dependencies"]
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("xseqd-*.whl")
    return found


def test_the_wheel_ships_artifacts_and_default_rollups(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for artifact in (ROOT / "xseqd" / "contracts" / "artifacts").glob("*.json"):
        assert f"xseqd/contracts/artifacts/{artifact.name}" in names
    assert "xseqd/contracts/artifacts/Settlement.json" in names
    assert {"xseqd/rollups/901.toml", "xseqd/rollups/902.toml"} <= names
    for asset in (ROOT / "xseqd" / "explorer").iterdir():  # the explorer's pages
        assert f"xseqd/explorer/{asset.name}" in names
    assert "xseqd/explorer/index.html" in names


def test_every_imported_distribution_is_a_runtime_dependency() -> None:
    top: set[str] = set()
    for source in (ROOT / "xseqd").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top.add(node.module.split(".")[0])
    third_party = top - set(sys.stdlib_module_names) - {"xseqd", "__future__"}
    owners = importlib.metadata.packages_distributions()
    missing = set()
    for module in third_party:
        dists = {normalize(d) for d in owners.get(module, [module])}
        if not dists & declared():
            missing.add((module, tuple(sorted(dists))))
    assert not missing, f"imported by xseqd/ but not in [project] dependencies: {missing}"
    assert "httpx" in declared()


def test_constraints_pin_the_installed_versions() -> None:
    lines = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    pins = dict(line.split("==", 1) for line in lines)
    assert "xseqd" not in {normalize(n) for n in pins}
    for dep in declared():
        key = next(n for n in pins if normalize(n) == dep)
        assert importlib.metadata.version(key) == pins[key], dep
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()


# -- anvil: --anvil / XSEQD_ANVIL, else the checkout's node_modules, else PATH ---------------


def test_an_explicit_anvil_wins(tmp_path: Path) -> None:
    fake = tmp_path / "my-anvil"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert anvil_binary(str(fake)) == fake
    with pytest.raises(AnvilError, match="XSEQD_ANVIL"):
        anvil_binary(str(tmp_path / "nope"))


def test_anvil_from_the_checkout_else_path_else_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert checkout_anvil() is not None  # this checkout, after make install
    assert anvil_binary() == checkout_anvil()
    monkeypatch.setattr(anvil_module, "ROOT", tmp_path)  # as if installed: no checkout
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(AnvilError) as error:
        anvil_binary()
    message = str(error.value)
    assert "--anvil" in message and "XSEQD_ANVIL" in message
    assert "node_modules" in message and "PATH" in message
    (tmp_path / "bin").mkdir()
    on_path = tmp_path / "bin" / "anvil"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    assert anvil_binary() == on_path


# -- the wheel in a fresh venv, run from an empty directory ---------------------------------


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from the project venv's
    site-packages through a .pth line (no PyPI), which does not run that venv's editable
    xseqd finder, so ``import xseqd`` can only find the wheel."""
    where = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "project-deps.pth").write_text(deps + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return where


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XSEQD_", "PYTHON"))}
    env["PATH"] = "/usr/bin:/bin"  # no node_modules/.bin, no project venv
    return env


def test_the_installed_package_is_the_wheel(venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import xseqd, xseqd.abi as a; print(xseqd.__file__); "
            "print(a.artifact('Settlement')['contractName'])",
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    where, name = done.stdout.split()
    assert Path(where).is_relative_to(venv), where
    assert name == "Settlement"


@pytest.fixture
def empty_dir(tmp_path: Path) -> Iterator[Path]:
    run = tmp_path / "empty"
    run.mkdir()
    yield run


def send_a_transaction(url: str) -> None:
    assert int(rpc(url, "eth_chainId"), 16) == 901
    key = dev_accounts(1)[0]
    tx = {
        "chainId": 901,
        "nonce": int(rpc(url, "eth_getTransactionCount", key.address, "pending"), 16),
        "to": "0x" + "11" * 20,
        "value": 12345,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 1,
    }
    raw = "0x" + key.sign_transaction(tx).raw_transaction.hex().removeprefix("0x")
    tx_hash = rpc(url, "eth_sendRawTransaction", raw)
    receipt = rpc(url, "eth_getTransactionReceipt", tx_hash)
    for _ in range(100):
        if receipt is not None:
            break
        receipt = rpc(url, "eth_getTransactionReceipt", tx_hash)
    assert receipt is not None and receipt["status"] == "0x1"
    assert int(rpc(url, "eth_getBalance", "0x" + "11" * 20, "latest"), 16) == 12345


def test_wheel_devnet_without_l1_from_an_empty_directory(venv: Path, empty_dir: Path) -> None:
    port = free_port()
    data = empty_dir.parent / "data"
    node = Devnet(
        "--no-l1", "--port", str(port), "--db", "memory", "--data-dir", str(data),
        cwd=empty_dir, exe=venv / "bin" / "xseqd", env=clean_env(),
    )  # fmt: skip
    try:
        assert node.wait_ready(), node.output
        send_a_transaction(f"http://127.0.0.1:{port}/rollup/901")
    finally:
        node.stop()
    assert list(empty_dir.iterdir()) == []


def test_wheel_devnet_settles_on_an_anvil_given_by_flag(venv: Path, empty_dir: Path) -> None:
    anvil = checkout_anvil()
    assert anvil is not None
    port, l1_port = free_port(), free_port()
    node = Devnet(
        "--port", str(port), "--db", "memory", "--data-dir", str(empty_dir.parent / "data"),
        "--l1-port", str(l1_port), "--anvil", str(anvil),
        cwd=empty_dir, exe=venv / "bin" / "xseqd", env=clean_env(),
    )  # fmt: skip
    try:
        assert node.wait_ready(), node.output
        send_a_transaction(f"http://127.0.0.1:{port}/rollup/901")
        l1 = rpc(f"http://127.0.0.1:{port}", "xseq_sequencer")["l1"]
        assert l1 is not None, node.output  # Settlement deployed from the wheel's artifact
    finally:
        node.stop()
        wait_gone(l1_port, 10)
        kill_leftovers(l1_port)

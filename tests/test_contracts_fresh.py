"""The committed contract artifacts are exactly what the pinned solc makes of the sources."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build-contracts.js"


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(SCRIPT), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_committed_artifacts_are_fresh() -> None:
    done = check(ROOT)
    assert done.returncode == 0, done.stderr


def test_a_stale_artifact_is_detected(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    artifacts = tmp_path / "xseqd" / "contracts" / "artifacts"
    shutil.copytree(ROOT / "xseqd" / "contracts" / "artifacts", artifacts)
    target = artifacts / "Counter.json"
    art = json.loads(target.read_text())
    art["bytecode"] = art["bytecode"][:-2] + "00"
    target.write_text(json.dumps(art, indent=2) + "\n")
    done = check(tmp_path)
    assert done.returncode == 1
    assert "Counter.json" in done.stderr

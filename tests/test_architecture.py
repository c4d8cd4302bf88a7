"""The house's shape, checked: imports run one way down the floors with no cycles, no
module grows past 600 lines, and the sequencer stays readable in one sitting.

Floors, bottom up (a module may import its own floor and the floors below):

    0  errors, abi, accounts, config, keys   vocabulary, settings, ABI names (and progress)
    1  chains/                               the embedded rollups (py-evm)
    2  core/                                 pure logic: items, order, atomic, transition
    3  storage/                              the SQL log
    4  sequencer/                            ordering, slots, intake, restart
    5  l1/                                   anvil, Settlement, the poster
    6  verify/                               the independent verifier
    7  rpc/                                  JSON-RPC over HTTP/WS
    8  node, cli, client, logs               wiring and entry points
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xseqd"
FLOORS = {
    "errors": 0,
    "abi": 0,
    "accounts": 0,
    "config": 0,
    "keys": 0,
    "progress": 0,
    "cpus": 0,
    "chains": 1,
    "core": 2,
    "storage": 3,
    "sequencer": 4,
    "l1": 5,
    "verify": 6,
    "rpc": 7,
    "node": 8,
    "cli": 8,
    "client": 8,
    "logs": 8,
    "keyper": 8,
    "keyperhttp": 8,
    "encryption": 8,
}
MAX_MODULE_LINES = 600
MAX_SEQUENCER_LINES = 250


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def imports(path: Path) -> set[str]:
    """The xseqd modules ``path`` imports (at any depth, type-checking imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xseqd"):
            found.add(node.module)
            for alias in node.names:  # `from xseqd.core import transition`
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("xseqd"))
    return found


def floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_every_module_has_a_floor() -> None:
    missing = [m for m in graph() if m != "xseqd.__init__" and floor(m) is None]
    assert not missing, f"add these to FLOORS: {missing}"


def test_imports_never_run_back_up_the_floors() -> None:
    upward = [
        f"{src} -> {dst}"
        for src, targets in graph().items()
        for dst in targets
        if floor(src) is not None and (floor(dst) or 0) > (floor(src) or 0)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_modules_stay_small() -> None:
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_the_sequencer_reads_in_one_sitting() -> None:
    tree = ast.parse((PACKAGE / "sequencer" / "sequencer.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Sequencer"]
    assert cls.end_lineno is not None
    assert cls.end_lineno - cls.lineno + 1 <= MAX_SEQUENCER_LINES


def test_one_transition_executes_the_order() -> None:
    """Only core/transition.py runs items (execute_bundle) and builds committed states;
    everyone else goes through it."""
    callers = [
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if "execute_bundle(" in p.read_text()
        and module_name(p) not in ("xseqd.core.atomic", "xseqd.core.transition")
    ]
    assert callers == []

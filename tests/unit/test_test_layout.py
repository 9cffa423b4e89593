"""pytest imports test modules by basename (rootdir import mode): two test files with the same name in
different folders make one of them fail to collect. Keep basenames unique across tests/ (Molecule
verifiers run in a pytest session of their own per scenario)."""
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_test_module_basenames_are_unique():
    seen = defaultdict(list)
    for path in (ROOT / "tests").rglob("test_*.py"):
        if "output" not in path.parts:
            seen[path.name].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, "rename one of each: %s" % clashes

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


def test_shared_test_code_is_imported_by_its_full_name():
    """`from conftest import ...` picks whichever conftest.py pytest put on sys.path first (there are
    several): shared code is imported as tests.conftest and tests.lib.*."""
    bad = []
    for path in (ROOT / "tests").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("from conftest import", "import conftest", "from lib.", "import lib.")):
                bad.append("%s:%d: %s" % (path.relative_to(ROOT), number, stripped))
    assert not bad, "import these as tests.conftest / tests.lib.*:\n" + "\n".join(bad)

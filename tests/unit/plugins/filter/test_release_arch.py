"""release_arch: the one architecture map; real release names for each fact, a clear failure otherwise."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.release import FilterModule

release_arch = FilterModule().filters()['release_arch']


@pytest.mark.parametrize("fact,expected", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7"),
                                           ("ppc64le", "ppc64le"), ("s390x", "s390x"), ("amd64", "amd64")])
def test_known_architectures(fact, expected):
    assert release_arch(fact) == expected


@pytest.mark.parametrize("fact", ["sparc64", "", None])
def test_unknown_architecture_names_the_known_ones(fact):
    with pytest.raises(AnsibleFilterError, match=r"no release architecture for .*known: .*x86_64"):
        release_arch(fact)

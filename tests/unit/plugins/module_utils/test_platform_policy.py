"""The platform policy: tested, untested Debian family, tarball elsewhere, refused elsewhere, bad input."""
import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.redfire.ops.plugins.filter.platform import platform_verdict
from ansible_collections.redfire.ops.plugins.module_utils.platforms import TESTED

DEBIAN12 = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
            "distribution_version": "12.8", "distribution_release": "bookworm"}
DEBIAN11 = dict(DEBIAN12, distribution_major_version="11", distribution_version="11.11", distribution_release="bullseye")
ALMA = {"os_family": "RedHat", "distribution": "AlmaLinux", "distribution_major_version": "9",
        "distribution_version": "9.5", "distribution_release": "NA"}


def test_the_tested_platforms_are_what_the_meta_files_say():
    assert TESTED == (("Debian", "12", "bookworm"), ("Debian", "13", "trixie"))


def test_tested_platform_passes_quietly():
    assert platform_verdict(DEBIAN12, "prometheus") == {"supported": True, "tested": True, "message": ""}


def test_other_debian_release_passes_with_a_note():
    verdict = platform_verdict(DEBIAN11, "prometheus")
    assert verdict["supported"] and not verdict["tested"]
    assert verdict["message"] == ("prometheus is tested on Debian 12 (bookworm), Debian 13 (trixie); this host runs Debian 11.11 (bullseye), "
                                  "Debian family: the Debian packages should serve, but no test ran them here")


def test_other_family_refused_with_what_to_set():
    verdict = platform_verdict(ALMA, "node_exporter", "package", "tarball")
    assert verdict["supported"] is False
    assert "this host runs AlmaLinux 9.5, RedHat family. Set node_exporter_install_method: tarball" in verdict["message"]
    assert "grafana_install: false" in platform_verdict(ALMA, "grafana", "package", "install")["message"]
    assert platform_verdict(ALMA, "rulebook")["message"].endswith("Leave this host out of the play.")


def test_other_family_with_tarball_or_nothing_to_install():
    tarball = platform_verdict(ALMA, "node_exporter", "tarball", "tarball")
    assert tarball["supported"] and not tarball["tested"] and "tarball install" in tarball["message"]
    assert platform_verdict(ALMA, "grafana", "none", "install") == {"supported": True, "tested": False, "message": ""}


def test_missing_facts_say_to_gather_them():
    verdict = platform_verdict({}, "prometheus")
    assert verdict["supported"] is False and "gather facts" in verdict["message"]
    assert platform_verdict(None, "prometheus")["supported"] is False


@pytest.mark.parametrize("args, word", [(("", "package"), "role"), (("x", "rpm"), "method"),
                                        (("x", "package", "docker"), "alternative")])
def test_bad_arguments_name_the_argument(args, word):
    with pytest.raises(AnsibleFilterError, match=word):
        platform_verdict(DEBIAN12, *args)


def test_every_role_meta_lists_the_tested_platforms_only():
    import pathlib
    import yaml
    want = {}
    for dist, _major, codename in TESTED:
        want.setdefault(dist, []).append(codename)
    roles = sorted(pathlib.Path(__file__).resolve().parents[4].joinpath("roles").glob("*/meta/main.yml"))
    assert len(roles) >= 16
    for meta in roles:
        platforms = yaml.safe_load(meta.read_text())["galaxy_info"]["platforms"]
        assert {p["name"]: p["versions"] for p in platforms} == want, meta

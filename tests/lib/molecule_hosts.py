"""The platforms every test runs on (Debian 12 and Debian 13, the images scripts/setup builds), and the containers
of a Molecule scenario: one per platform of molecule.yml, so that a scenario's verify tests run once on each."""
import os

# the platform names of every molecule.yml, in its order, and their images (scripts/env.sh exports the variables)
PLATFORMS = ("debian12", "debian13")
IMAGES = {
    "debian12": os.environ.get("REDFIRE_IMAGE", "localhost/redfire-debian12-systemd:bare"),
    "debian13": os.environ.get("REDFIRE_IMAGE_DEBIAN13", "localhost/redfire-debian13-systemd:bare"),
}


def containers(scenario, platforms=PLATFORMS):
    """The container names of `scenario`'s platforms (molecule.yml: redfire-molecule-SCENARIO-PLATFORM-ID)."""
    run_id = os.environ.get("REDFIRE_MOLECULE_ID", "1")
    return ["redfire-molecule-%s-%s-%s" % (scenario, platform, run_id) for platform in platforms]

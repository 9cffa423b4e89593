# shellcheck shell=bash
# Source this file to work in the project's environment:  . scripts/env.sh
# Project-local venv, collections path and containers.conf; nothing global is changed.
REDFIRE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REDFIRE_ROOT
export PATH="$REDFIRE_ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$REDFIRE_ROOT/.build/collections:$REDFIRE_ROOT/.build/deps"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_ROLES_PATH="$REDFIRE_ROOT/roles"
export ANSIBLE_LOCAL_TEMP="$REDFIRE_ROOT/.build/ansible-tmp"
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_GALAXY_SERVER_LIST=""
export CONTAINERS_CONF="$REDFIRE_ROOT/.build/containers.conf"
export REDFIRE_IMAGE=${REDFIRE_IMAGE:-localhost/redfire-debian12-systemd:bare}
export MOLECULE_IMAGE=${MOLECULE_IMAGE:-$REDFIRE_IMAGE}
export REDFIRE_IMAGE_DEBIAN13=${REDFIRE_IMAGE_DEBIAN13:-localhost/redfire-debian13-systemd:bare}
export MOLECULE_IMAGE_DEBIAN13=${MOLECULE_IMAGE_DEBIAN13:-$REDFIRE_IMAGE_DEBIAN13}

"""patch_module_args on every supported ansible-core: 2.19 ships it; before, a module read its arguments from
ansible.module_utils.basic._ANSIBLE_ARGS, which is what this fallback sets (the compat layer runs 2.16)."""
import contextlib
import json

try:
    # ansible-core >= 2.19; re-exported for the tests
    from ansible.module_utils.testing import patch_module_args  # noqa: F401  pylint: disable=unused-import
except ImportError:
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args=None):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args or {})}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

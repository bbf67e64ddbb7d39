"""The ``_target_`` allow-list under its documented path: ``check_target``, ``allow_target_prefixes``, ...

Defined in :mod:`nemo.utils.target_allowlist`, below everything that enforces it (``nemo.utils.model_utils``
included); this module only re-exports it.

Example:
    >>> from nemo.core.classes.target_allowlist import allow_target_prefixes, is_target_allowed
    >>> with allow_target_prefixes("my_models."):
    ...     is_target_allowed("my_models.TinyModel")
    True
"""

from nemo.utils.target_allowlist import BUILTIN_TARGET_PREFIXES as BUILTIN_TARGET_PREFIXES
from nemo.utils.target_allowlist import ENV_ALLOWED_TARGET_PREFIXES as ENV_ALLOWED_TARGET_PREFIXES
from nemo.utils.target_allowlist import UnsafeTargetError as UnsafeTargetError
from nemo.utils.target_allowlist import allow_target_prefixes as allow_target_prefixes
from nemo.utils.target_allowlist import allowed_prefixes as allowed_prefixes
from nemo.utils.target_allowlist import check_config_targets as check_config_targets
from nemo.utils.target_allowlist import check_target as check_target
from nemo.utils.target_allowlist import is_imported_class as is_imported_class
from nemo.utils.target_allowlist import is_target_allowed as is_target_allowed
from nemo.utils.target_allowlist import is_user_defined_class as is_user_defined_class
from nemo.utils.target_allowlist import lookup_imported as lookup_imported
from nemo.utils.target_allowlist import may_import_unlisted as may_import_unlisted
from nemo.utils.target_allowlist import targets_from_file as targets_from_file

__all__ = [
    "BUILTIN_TARGET_PREFIXES",
    "ENV_ALLOWED_TARGET_PREFIXES",
    "UnsafeTargetError",
    "allow_target_prefixes",
    "allowed_prefixes",
    "check_config_targets",
    "check_target",
    "is_target_allowed",
    "is_imported_class",
    "is_user_defined_class",
    "lookup_imported",
    "may_import_unlisted",
    "targets_from_file",
]

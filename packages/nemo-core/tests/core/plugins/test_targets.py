import importlib

import pytest
from nemo.core.plugins.targets import (
    canonical_import_string,
    import_target,
    is_import_string,
    split_import_string,
)


def test_split_both_forms():
    assert split_import_string("pkg.mod:Cls") == ("pkg.mod", "Cls")
    assert split_import_string("pkg.mod:Cls.method") == ("pkg.mod", "Cls.method")
    assert split_import_string("pkg.mod.Cls") == ("pkg.mod", "Cls")


def test_split_rejects_non_import_string():
    assert not is_import_string("no_dot")
    with pytest.raises(ValueError, match="'no_dot' is not an import string"):
        split_import_string("no_dot")


def test_canonical_form_makes_both_spellings_equal():
    assert canonical_import_string("pkg.mod:Cls") == canonical_import_string("pkg.mod.Cls") == "pkg.mod.Cls"


def test_import_target_returns_the_named_object():
    assert import_target("importlib.metadata:version") is importlib.metadata.version


def test_import_target_missing_attribute_is_an_import_error_naming_it():
    with pytest.raises(ImportError, match="missing 'NoSuchThing'"):
        import_target("importlib.metadata:NoSuchThing")


def test_import_target_missing_module_is_an_import_error():
    with pytest.raises(ModuleNotFoundError):
        import_target("nemo_no_such_module_xyz:Thing")

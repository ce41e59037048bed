"""The emitted YAML does not depend on whether PyYAML has libyaml: both emitters write the same text."""

from __future__ import annotations

import pytest
import yaml

from bridge.emit.yaml import _Dumper, _PythonDumper, to_yaml
from tests.helpers import ROOT

GOLDEN_YAML = sorted((ROOT / "tests" / "golden").rglob("*.yaml"))


def test_libyaml_is_used_when_present() -> None:
    if not hasattr(yaml, "CSafeDumper"):
        pytest.skip("this PyYAML has no libyaml: the pure-Python emitter is the only one")
    assert issubclass(_Dumper, yaml.CSafeDumper)


@pytest.mark.parametrize("path", GOLDEN_YAML, ids=lambda p: str(p.relative_to(ROOT / "tests" / "golden")))
def test_both_emitters_write_every_golden_file_alike(path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for document in documents:
        assert to_yaml(document) == to_yaml(document, dumper=_PythonDumper)


def test_strings_that_look_like_other_types_stay_strings() -> None:
    data = {"a": "true", "b": "1.5", "c": "null", "d": "0x1F", "e": "plain", "f": "- x", "g": "multi\nline\n",
            "h": "café", "i": ["x", {"j": "it's: quoted"}]}
    for dumper in (_Dumper, _PythonDumper):
        assert yaml.safe_load(to_yaml(data, dumper=dumper)) == data

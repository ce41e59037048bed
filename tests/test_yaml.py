"""The emitter's shortcuts (simple scalars, multi-line ASCII text) give exactly PyYAML's own analysis."""

from __future__ import annotations

import random
import string

import yaml

from bridge.emit.yaml import ASCII_TEXT, SIMPLE_SCALAR, _Dumper, to_yaml


def test_simple_scalar_shortcut_matches_pyyaml() -> None:
    rng = random.Random(13)
    alphabet = string.ascii_letters + string.digits + "_./-"
    samples = ["a", "0", "1.5", "true", "null", "no", "ds", "a..b", "x_", "v1.2.3", "0x1F", "1e10", "a-b", "a--", "a/b/", "x---", "a-.-/"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(2000)]
    reference = yaml.SafeDumper(None)  # PyYAML's own analysis
    shortcut = _Dumper(None)
    text_alphabet = "ab :#-'\"|>\n\n"
    samples += ["".join(rng.choice(text_alphabet) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    samples += ["---\nx", "a \nb", "a\n b", "\n", "x\n", " x\ny ", "é\nx", "a\tb\n"]
    checked = 0
    for text in samples:
        if not (SIMPLE_SCALAR.match(text) or ASCII_TEXT.match(text)):
            continue
        checked += 1
        ours, theirs = shortcut.analyze_scalar(text), reference.analyze_scalar(text)
        assert vars(ours) == vars(theirs), repr(text)
    assert checked > 3000


def test_strings_that_look_like_other_types_stay_strings() -> None:
    data = {"a": "true", "b": "1.5", "c": "null", "d": "0x1F", "e": "plain", "f": "- x", "g": "multi\nline\n"}
    assert yaml.safe_load(to_yaml(data)) == data

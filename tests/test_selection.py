"""Format control and hashes: the same answers as pip's own FormatControl."""

from __future__ import annotations

import pytest

from wheelwise.errors import BadInputError
from wheelwise.selection import Selection, parse_hash

pip_format_control = pytest.importorskip("pip._internal.models.format_control")

SEQUENCES = [
    [("only-binary", ":all:")],
    [("no-binary", ":all:")],
    [("no-binary", ":all:"), ("only-binary", "numpy")],
    [("only-binary", ":all:"), ("no-binary", "numpy,Scipy")],
    [("only-binary", ":all:"), ("only-binary", ":none:")],
    [("no-binary", "numpy"), ("only-binary", ":all:,:none:,torch")],
    [("only-binary", "numpy"), ("no-binary", ":all:"), ("only-binary", "scipy")],
    [("no-binary", ":none:"), ("only-binary", "numpy,:none:,torch")],
]


@pytest.mark.parametrize("options", SEQUENCES, ids=lambda o: " ".join(f"--{k} {v}" for k, v in o))
def test_format_control_as_pip(options: list[tuple[str, str]]) -> None:
    theirs = pip_format_control.FormatControl(set(), set())
    for option, value in options:
        target, other = (theirs.only_binary, theirs.no_binary) if option == "only-binary" else (theirs.no_binary, theirs.only_binary)
        pip_format_control.FormatControl.handle_mutual_excludes(value, target, other)
    ours = Selection().with_formats(options)
    for name in ("numpy", "scipy", "torch", "other"):
        allowed = theirs.get_allowed_formats(name)
        assert (ours.wheels_allowed(name), ours.sdists_allowed(name)) == ("binary" in allowed, "source" in allowed), name


def test_hashes() -> None:
    chosen = Selection().with_hashes("NumPy", [parse_hash("SHA256:AB")]).with_hashes("numpy", [("sha512", "cd")])
    assert chosen.hash_checking
    assert chosen.hash_matches("numpy", {"sha256": "ab"}) is True
    assert chosen.hash_matches("numpy", {"sha256": "ff"}) is False
    assert chosen.hash_matches("numpy", {"md5": "ab"}) is None  # the index gives no hash to compare
    assert chosen.hash_matches("scipy", {"sha256": "ff"}) is True  # no --hash for it
    with pytest.raises(BadInputError, match="not ALGORITHM:DIGEST"):
        parse_hash("sha1:abc")

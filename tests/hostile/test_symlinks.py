"""Exfiltration by symbolic link: a link in a scanned tree (or a --input directory) is never followed
to anything outside it, so nothing outside the tree is read or reported as the tree's content.

A file outside the tree holds a planted secret that must appear nowhere (harness `forbidden`);
links that stay inside the tree are scanned once, as their target.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.hostile.fakes import aws_pair, leak
from tests.hostile.harness import GOOD_EXPORT, GOOD_EXPORT_ID, hostile_scan
from tests.repo.conftest import git

R = random.Random(1_2026_12)


def planted(root: Path) -> tuple[Path, tuple[str, str]]:
    """A credentials file outside any scanned tree, like ~/.aws/credentials."""
    home = root / "home" / ".aws"
    home.mkdir(parents=True)
    pair = aws_pair(R)
    (home / "credentials").write_text(
        f"[default]\naws_access_key_id = {pair[0]}\naws_secret_access_key = {pair[1]}\n", "utf-8"
    )
    return home / "credentials", pair


def hostile_tree(root: Path, outside: Path, in_git: bool) -> tuple[Path, str]:
    tree = root / "repo"
    (tree / "src").mkdir(parents=True)
    inner = aws_pair(R)
    (tree / "src" / "settings.py").write_text(leak(*inner), "utf-8")
    (tree / "aws-credentials").symlink_to(outside)  # absolute link out of the tree
    (tree / "src" / "relative").symlink_to(os.path.relpath(outside, tree / "src"))  # `..` components
    (tree / "shadow").symlink_to("/etc/shadow")
    (tree / "home-dir").symlink_to(outside.parent, target_is_directory=True)
    (tree / "src" / "again.py").symlink_to("settings.py")  # stays inside: scanned once
    (tree / "inner-dir").symlink_to("src", target_is_directory=True)
    (tree / "loop-a").symlink_to("loop-b")
    (tree / "loop-b").symlink_to("loop-a")
    (tree / "chain").symlink_to("src/relative")  # inside link to a link that leaves
    if in_git:
        git(tree, "init", "-q", "-b", "main")
        git(tree, "add", "-A")
        git(tree, "commit", "-qm", "links")
    return tree, inner[0]


OUT_LINKS = ["aws-credentials", "chain", "home-dir", "shadow", "src/relative"]


@pytest.mark.parametrize("in_git", [True, False], ids=["git-work-tree", "plain-dir"])
def test_links_out_of_the_tree_are_not_followed(tmp_path: Path, in_git: bool) -> None:
    outside, (out_id, out_secret) = planted(tmp_path)
    tree, inner_id = hostile_tree(tmp_path, outside, in_git)
    # Not an input failure (the links are the repository's own content): exit code from findings.
    res = hostile_scan(tmp_path, str(tree), expect_code=1, timeout=120, forbidden=(out_id, out_secret))
    assert res.errors == []
    repo = next(s for s in res.result["sources"] if s["kind"] == "repository")
    assert repo["links_not_followed"] == OUT_LINKS
    note = f"nhiscan: note: {tree}: 5 symbolic link(s) leading outside the tree not followed: "
    assert note + ", ".join(OUT_LINKS) in res.cli.stderr
    # the link inside the tree: its target is scanned once, under its own name
    paths = [f["location"]["path"] for f in res.findings("secret-cloud-key")]
    assert paths == ["src/settings.py"], paths
    assert inner_id in str(res.result["findings"])


def test_links_in_history_are_their_target_names_not_the_targets(tmp_path: Path) -> None:
    """--history reads a committed link as git stores it (the target's name): never the target."""
    outside, (out_id, out_secret) = planted(tmp_path)
    tree, _ = hostile_tree(tmp_path, outside, in_git=True)
    res = hostile_scan(
        tmp_path, str(tree), "--history", expect_code=1, timeout=120, forbidden=(out_id, out_secret)
    )
    assert res.errors == []


def test_scanned_path_that_is_itself_a_link_is_followed(tmp_path: Path) -> None:
    """The root named on the command line may be a link (a checkout under a symlinked home)."""
    outside, (out_id, out_secret) = planted(tmp_path)
    tree, inner_id = hostile_tree(tmp_path, outside, in_git=False)
    alias = tmp_path / "alias"
    alias.symlink_to(tree, target_is_directory=True)
    res = hostile_scan(tmp_path, str(alias), expect_code=1, timeout=120, forbidden=(out_id, out_secret))
    assert inner_id in str(res.result["findings"])


def test_input_directory_links_do_not_leave_it(tmp_path: Path) -> None:
    outside, (out_id, out_secret) = planted(tmp_path)
    export = tmp_path / "elsewhere" / "gaad.json"
    export.parent.mkdir()
    # an export outside the directory whose content carries the planted secret
    export.write_text(GOOD_EXPORT.read_text("utf-8").replace("{", '{"x": "' + out_secret + '", ', 1), "utf-8")
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "good.json").write_bytes(GOOD_EXPORT.read_bytes())
    (exports / "same.json").symlink_to("good.json")  # inside: read once
    (exports / "linked.json").symlink_to(export)
    (exports / "creds.json").symlink_to(outside)
    res = hostile_scan(
        tmp_path,
        "--input",
        str(exports),
        expect_code=2,
        timeout=120,
        good_export=False,
        forbidden=(out_id, out_secret),
    )
    assert sorted(res.errors) == [
        f"nhiscan: error: {exports}/creds.json: symbolic link leads outside the directory; not followed",
        f"nhiscan: error: {exports}/linked.json: symbolic link leads outside the directory; not followed",
    ]
    # good.json is read once (the link to it inside the directory adds nothing)
    assert len(res.result["sources"]) == 1, res.result["sources"]
    assert GOOD_EXPORT_ID in {i["id"] for i in res.result["identities"]}


def test_a_parent_directory_swapped_for_a_link_after_listing_is_caught(tmp_path: Path) -> None:
    """The race: listed as tree/sub/file, then sub is replaced by a link to elsewhere before reading."""
    from nhiscan.sources.repo.walker import OutsideTree, read_inside

    outside, _ = planted(tmp_path)
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "credentials").write_text("x", "utf-8")
    real_root = os.path.realpath(tree)
    assert read_inside(real_root, "sub/credentials") == b"x"
    (tree / "sub" / "credentials").unlink()
    (tree / "sub").rmdir()
    (tree / "sub").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(OutsideTree):
        read_inside(real_root, "sub/credentials")
    (tree / "sub").unlink()
    (tree / "sub").mkdir()
    (tree / "sub" / "credentials").symlink_to(outside)  # the file itself swapped for a link
    with pytest.raises(OutsideTree):
        read_inside(real_root, "sub/credentials")

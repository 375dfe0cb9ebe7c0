"""The built wheel holds every subpackage and the sample data, and no bare top-level name."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_holds_every_subpackage_and_nothing_bare(tmp_path: Path) -> None:
    # Build from a copy: setuptools reuses ./build, where stale modules would hide a gap.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "outputs", "*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("storyloom-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config["tool"]["setuptools"]["packages"]
    folders = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert {p.split(".")[1] for p in packages} == folders, "a folder is missing from packages"
    for package in packages:
        assert f"{package.replace('.', '/')}/__init__.py" in names
    assert "storyloom/stories/data/constitution.md" in names
    assert "storyloom/stories/story/data/craft_guide.md" in names
    # `storyloom calibrate`'s gold set
    assert "storyloom/stories/story/data/gold/labels.toml" in names
    assert "storyloom/stories/story/data/gold/clean-01-refund.md" in names
    assert "storyloom/stories/augment/data/tools.json" in names
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {
        "storyloom",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }

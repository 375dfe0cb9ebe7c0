"""The HTML report: it parses, it is self-contained, every embedded PNG decodes, and it opens
in headless Chromium without console errors and with every image rendered."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from storyloom.cli.stats_cmd import stats

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "run"
DATA_PNG = "data:image/png;base64,"
SECTIONS = ["summary", "counts", "size", "cost", "quality", "coverage", "diversity"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.section_ids: list[str] = []
        self.links: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        if tag == "section" and values.get("id"):
            self.section_ids.append(values["id"] or "")
        if tag in {"link", "script", "iframe", "object", "embed"}:
            self.links.append(tag)
        if tag not in {"img", "meta", "br", "hr", "link", "input"}:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()


@pytest.fixture(scope="module")
def html_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    result = CliRunner().invoke(stats, [str(FIXTURE), "--html", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_html_parses_and_is_self_contained(html_report: Path) -> None:
    text = html_report.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(text)
    parser.close()
    assert parser.open == []  # every element closed, in order
    assert parser.section_ids == SECTIONS
    assert parser.links == []  # no script, stylesheet or frame to fetch
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text  # the CSP forbids any fetch
    assert len(parser.images) >= 10
    for image in parser.images:
        assert (image.get("src") or "").startswith(DATA_PNG)
        assert image.get("alt")


def test_every_embedded_image_decodes(html_report: Path) -> None:
    parser = _Collector()
    parser.feed(html_report.read_text(encoding="utf-8"))
    for image in parser.images:
        raw = base64.b64decode((image["src"] or "")[len(DATA_PNG) :], validate=True)
        with Image.open(io.BytesIO(raw)) as png:
            png.verify()
        with Image.open(io.BytesIO(raw)) as png:
            png.load()
            assert png.format == "PNG"
            assert png.width >= 400 and png.height >= 150, image["alt"]


def test_figures_in_the_html_come_from_the_json(html_report: Path, tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    CliRunner().invoke(stats, [str(FIXTURE), "--json", str(out)])
    report = json.loads(out.read_text())
    text = html_report.read_text(encoding="utf-8")
    assert "$0.0075" in text  # USD per accepted document
    assert "83.3%" in text  # final pass rate
    assert f"{report['diversity']['distinct_1']:.3f}" in text
    assert "oversight-and-correction" in text  # uncovered section named


# --- headless Chromium ------------------------------------------------------------------

_PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
var original = console.error;
console.error = function () { window.__errors.push([].join.call(arguments, ' '));
  return original.apply(console, arguments); };
window.addEventListener('load', function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {alt: img.alt, ok: img.complete && img.naturalWidth > 0};
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({errors: window.__errors, images: images});
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed; .ci/run must install it")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _open_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console lines Chromium logged."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def _probe_copy(page: Path, target: Path) -> Path:
    """The page with an error recorder first in <head>; its CSP lets only that script run."""
    text = page.read_text(encoding="utf-8")
    text = text.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
    text = text.replace("<head>", "<head>" + _PROBE, 1)
    target.write_text(text, encoding="utf-8")
    return target


def _probe_result(dom: str) -> dict[str, list[object]]:
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert match, "the probe did not run"
    raw = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(raw.replace("&amp;", "&"))


def test_report_opens_in_chromium_without_console_errors(html_report: Path, tmp_path: Path) -> None:
    dom, console = _open_in_chromium(html_report, tmp_path / "profile-a")
    assert console == []
    assert 'id="diversity"' in dom

    probed, console = _open_in_chromium(
        _probe_copy(html_report, tmp_path / "probe.html"), tmp_path / "profile-b"
    )
    result = _probe_result(probed)
    assert result["errors"] == []
    assert console == []
    assert len(result["images"]) >= 10
    assert all(image["ok"] for image in result["images"]), result["images"]  # type: ignore[index]


def test_the_chromium_check_catches_a_broken_page(tmp_path: Path) -> None:
    """The harness must be able to fail: a script error and a broken image are seen."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src data:\"></head><body>"
        f'<img alt="bad" src="{DATA_PNG}AAAA"><script>missingFunction();</script>'
        "</body></html>",
        encoding="utf-8",
    )
    _, console = _open_in_chromium(broken, tmp_path / "profile-c")
    assert any("Content Security Policy" in line for line in console)
    result = _probe_result(
        _open_in_chromium(_probe_copy(broken, tmp_path / "probe.html"), tmp_path / "p-d")[0]
    )
    assert any("missingFunction" in str(error) for error in result["errors"])
    assert result["images"] == [{"alt": "bad", "ok": False}]

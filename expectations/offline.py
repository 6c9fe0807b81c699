"""Data Docs that render with no network.

Great Expectations' pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and a logo from
CDNs; behind a firewall the index is unstyled and its list of validations empty (the table is
filled by jQuery). synthpipe ships those files (`data_docs_static/`, licences beside them) and,
after every build, copies them into the site and points each page at its copy. A stylesheet
or script that has no local copy (the dark-mode sheet, the Vega chart libraries that synthpipe's
expectations do not use) is dropped rather than left to time out.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

__all__ = ["VENDORED", "external_resources", "make_offline"]

_STATIC = Path(__file__).with_name("data_docs_static")

# CDN address (a unique part of it) -> the shipped copy, relative to the site's `static/`.
VENDORED: dict[str, str] = {
    "code.jquery.com/jquery-3.7.1.min.js": "vendor/jquery-3.7.1.min.js",
    "bootstrap/4.3.1/css/bootstrap.min.css": "vendor/bootstrap-4.3.1.min.css",
    "bootstrap/4.3.1/js/bootstrap.min.js": "vendor/bootstrap-4.3.1.min.js",
    "popper.js/1.12.9/umd/popper.min.js": "vendor/popper-1.12.9.min.js",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "vendor/bootstrap-table-1.19.1.min.css",
    "bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "vendor/bootstrap-table-1.19.1.min.js",
    "filter-control/bootstrap-table-filter-control.css": "vendor/bootstrap-table-filter-control-1.19.1.min.css",
    "filter-control/bootstrap-table-filter-control.min.css": "vendor/bootstrap-table-filter-control-1.19.1.min.css",
    "filter-control/bootstrap-table-filter-control.min.js": "vendor/bootstrap-table-filter-control-1.19.1.min.js",
    "bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "vendor/bootstrap-datepicker-1.9.0.min.css",
    "bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "vendor/bootstrap-datepicker-1.9.0.min.js",
    "font-awesome/6.6.0/css/all.min.css": "vendor/fontawesome-6.6.0.all.min.css",
    "great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": "images/logo-long.png",
}

# A tag that loads something: <link href=...>, <script src=...>, <img src=...>.
_LOADING_TAG = re.compile(r"<(link|script|img)\b[^>]*?\b(?:href|src)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?", re.IGNORECASE)


_RELATIVE_STATIC = re.compile(r'\b(href|src)="(?:\.\./)+static/')


def external_resources(html: str) -> list[str]:
    """The addresses a page would fetch from the network to render (links to read are not counted)."""
    return [match.group(2) for match in _LOADING_TAG.finditer(html)]


def _local(address: str) -> str | None:
    return next((copy for part, copy in VENDORED.items() if part in address), None)


def _rewrite(html: str, to_static: str, data_asset: str) -> str:
    def replace(match: re.Match[str]) -> str:
        copy = _local(match.group(2))
        if copy is None:
            return ""
        return match.group(0).replace(match.group(2), f"{to_static}/{copy}")

    html = _LOADING_TAG.sub(replace, html)
    # GX counts one folder too few for some of its own files on a dotted suite name (the favicon).
    html = _RELATIVE_STATIC.sub(f'\\1="{to_static}/', html)
    # A validation of an in-memory DataFrame has no batch spec naming its asset.
    return html.replace("Data asset: None", f"Data asset: {data_asset}")


def make_offline(site: Path, data_asset: str) -> None:
    """Ships the CDN files into `site/static` and points every page of the site at them."""
    static = site / "static"
    for folder in ("vendor", "webfonts"):
        target = static / folder
        if not target.is_dir():
            shutil.copytree(_STATIC / folder, target)
    if not (static / "LICENSES.txt").is_file():
        shutil.copy(_STATIC / "LICENSES.txt", static / "LICENSES.txt")
    for page in site.rglob("*.html"):
        if page.is_relative_to(static):
            continue
        to_static = Path(os.path.relpath(static, page.parent)).as_posix()
        text = page.read_text(encoding="utf-8")
        rewritten = _rewrite(text, to_static, data_asset)
        if rewritten != text:
            page.write_text(rewritten, encoding="utf-8")

"""The report page: one HTML file with the figures, the charts' specs and Vega inlined.

The charts are drawn in the browser by Vega-Lite through vega-embed. The three libraries
come from the ``vl-convert-python`` wheel, which ships them (`vl_convert.javascript_bundle`
returns them as one script of about 0.9 MB): nothing is downloaded, at build time or when
the page is viewed. The page's Content-Security-Policy forbids every request, so even a
stray URL in a spec could not reach a server.

>>> page = render_page("t", "s", "<p>h</p>", [], bundle="/* js */")
>>> "/* js */" in page and "<p>h</p>" in page
True
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from vpkg.errors import VpkgError

INSTALL_HINT = "install it with: pip install 'vpkg[report]'"


def javascript_bundle() -> str:
    """vega, vega-lite and vega-embed as one script, from the ``vl-convert-python`` package.

    Building it takes a few seconds, so it is kept in the user's cache folder
    (``$XDG_CACHE_HOME/vpkg`` or ``~/.cache/vpkg``), one file per vl-convert version.
    """
    try:
        import vl_convert
    except ImportError:
        raise VpkgError(f"vpkg report needs the vl-convert-python package; {INSTALL_HINT}") \
            from None
    version = "-".join([vl_convert.get_vega_version(), vl_convert.get_vegalite_versions()[-1],
                        vl_convert.get_vega_embed_version()])
    cache_root = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    cached = Path(cache_root, "vpkg", f"vega-bundle-{version}.js")
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vl_convert.javascript_bundle()
    try:  # a cache that cannot be written only costs the time again next run
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".vega-bundle-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(bundle)
        os.replace(tmp, cached)
    except OSError:
        pass
    return bundle


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no ``<!--``).

    >>> script_json({"a": "</script>"})
    '{"a": "\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(title: str, subtitle: str, header: str, charts: list, bundle: str | None = None,
                tables: str = "") -> str:
    """The whole page: ``header`` and ``tables`` are HTML; ``charts`` are `Chart` objects."""
    from vpkg.version import __version__

    sections = []
    for chart in charts:
        sections.append(
            f'<section class="chart-section" id="section-{chart.id}">'
            f"<h2>{html.escape(chart.title)}</h2>"
            f'<p class="caption">{html.escape(chart.caption)}</p>'
            f'<div class="chart" id="chart-{chart.id}" data-caption="'
            f'{html.escape(chart.caption)}"></div></section>'
        )
    specs = {chart.id: chart.spec for chart in charts}
    template = Template(files("vpkg.sinks.report").joinpath("template.html")
                        .read_text(encoding="utf-8"))
    if bundle is None:
        bundle = javascript_bundle()
    if "</script" in bundle.lower():  # never true for vega's bundle; would end the element
        raise VpkgError("the vega script bundle contains '</script'; it cannot be inlined")
    return template.substitute(
        version=html.escape(__version__), title=html.escape(title),
        subtitle=html.escape(subtitle), header=header,
        sections="\n".join(sections) + tables, bundle=bundle, specs=script_json(specs),
    )

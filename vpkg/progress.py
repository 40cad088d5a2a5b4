"""Progress bars for long work: a tqdm bar on stderr, drawn on a terminal only.

`bar` only sets vpkg's defaults; tqdm itself decides (``disable=None``) to stay silent when
stderr is not a terminal, and a disabled bar costs nothing to update.

>>> with bar(total=10, desc="demo", enabled=False) as b:
...     b.update(10)
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from tqdm import tqdm


def bar(total: int | None, desc: str, enabled: bool | None = None, unit: str = "B") -> tqdm:
    """A tqdm bar on stderr.

    Parameters
    ----------
    total
        Expected amount (bytes for ``unit="B"``), or None when unknown.
    desc
        The label shown before the bar.
    enabled
        True or False to force; None (default) shows a bar only on a terminal.
    unit
        ``"B"`` shows bytes with binary prefixes and a rate; anything else counts items.
    """
    from tqdm import tqdm  # on first use: importing tqdm costs about 45 ms

    scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    disable = None if enabled is None else not enabled
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=disable, **scale)

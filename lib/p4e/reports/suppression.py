"""Small-cell suppression for published tables, with complementary suppression.

A cell whose denominator is below the threshold is suppressed. Because a table
also publishes the total, one suppressed cell could be recomputed from the total
and the other cells; so whenever anything is suppressed, further cells are
suppressed, smallest first, until at least two are and the suppressed cells
together reach the threshold (their sum is then no small cell either).
"""

from __future__ import annotations

from collections.abc import Mapping


def suppressed_cells(sizes: Mapping[str, float], threshold: float) -> set[str]:
    """The cells to suppress in one table.

    Args:
        sizes: cell -> denominator (weighted; the table's total row excluded).
        threshold: smallest publishable denominator (e.g. 11).

    Returns:
        The cells to suppress: the primary ones (below the threshold) and the
        complementary ones that protect them.
    """
    hidden = {cell for cell, n in sizes.items() if n < threshold}
    if not hidden:
        return hidden
    others = sorted((n, cell) for cell, n in sizes.items() if cell not in hidden)
    while others and (len(hidden) < 2 or sum(sizes[c] for c in hidden) < threshold):
        hidden.add(others.pop(0)[1])
    return hidden

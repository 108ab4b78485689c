"""An HTML page as notice text: block elements as lines, table rows as ``| cell | cell |`` lines in
reading order, the page title first. Pure (html.parser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article", "header",
           "footer", "ul", "ol", "blockquote", "pre", "hr", "dt", "dd", "dl", "main", "aside", "nav", "form",
           "caption", "thead", "tbody", "tfoot", "center", "address", "figure", "figcaption"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _Text(HTMLParser):
    """Collects the visible text of a page."""

    def __init__(self) -> None:
        """Start with no text collected."""
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.title: list[str] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.skipping = 0
        self.in_title = False

    def _flush(self) -> None:
        """End the current line of running text."""
        line = re.sub(r"[ \t\r\n\f\v\xa0]+", " ", "".join(self.current)).strip()
        if line:
            self.lines.append(line)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element: skip invisible ones, start rows and cells, break lines at blocks."""
        if tag == "title":
            self.in_title = True
        elif tag in _SKIP or self.skipping:
            self.skipping += tag in _SKIP
        elif tag == "tr":
            self._flush()
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag in _BLOCKS:
            if self.cell is not None:
                self.cell.append(" ")
            else:
                self._flush()

    def handle_endtag(self, tag: str) -> None:
        """Close an element: finish cells and rows, break lines at blocks."""
        if tag == "title":
            self.in_title = False
        elif tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif self.skipping:
            return
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if any(self.row):
                self.lines.append("| " + " | ".join(self.row) + " |")
            self.row = None
        elif tag in _BLOCKS and self.cell is None:
            self._flush()

    def handle_data(self, data: str) -> None:
        """Keep visible text, in the cell or line it belongs to."""
        if self.in_title:
            self.title.append(data)
        elif self.skipping:
            return
        elif self.cell is not None:
            self.cell.append(data)
        elif self.row is None:
            self.current.append(data)


def text_of(page: str) -> str:
    """Given an HTML page, return its visible text: the title, then one line per block or table row."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    parser._flush()
    title = re.sub(r"\s+", " ", "".join(parser.title)).strip()
    lines = parser.lines
    if title and (not lines or lines[0] != title):
        lines = [title, *lines]
    return "\n".join(lines) + "\n"


def declared_charset(head: bytes) -> str | None:
    """Given a page's first bytes, return the charset its <meta> declares, if any."""
    found = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_-]+)", head, re.IGNORECASE)
    return found.group(1).decode("ascii").lower() if found else None

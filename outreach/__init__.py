"""普法责任清单 (谁执法谁普法): per enforcing agency, the regulations it enforces and a card per key duty, built from
the index (`cards`) and rendered as Markdown, a printable HTML page, DOCX or JSON (`render`, `word`)."""
from outreach.cards import build_outreach, regulation_cards
from outreach.render import (
           FORMATS,
           check_format,
           render,
           render_outreach,
           to_docx,
           to_html,
           to_markdown,
)
from outreach.scope import agency_name, select_regulations

__all__ = [
           "FORMATS",
           "agency_name",
           "build_outreach",
           "check_format",
           "regulation_cards",
           "render",
           "render_outreach",
           "select_regulations",
           "to_docx",
           "to_html",
           "to_markdown",
]

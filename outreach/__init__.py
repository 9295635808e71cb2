"""普法责任清单 (谁执法谁普法): per enforcing agency, the regulations it enforces and a card per key duty, built from
the index (`cards`), with the fields published lists carry (`fields`), rendered as Markdown, a printable HTML page,
the page's HTML fragment, DOCX or JSON (`render`, `word`)."""
from outreach.cards import build_outreach, regulation_cards
from outreach.fields import FieldStore, list_fields
from outreach.render import (FORMATS, check_format, render, render_outreach, to_docx, to_fragment, to_html,
                             to_markdown)
from outreach.scope import agency_name, select_regulations

__all__ = ["build_outreach", "regulation_cards", "render", "render_outreach", "to_markdown", "to_html", "to_fragment",
           "to_docx", "check_format", "FORMATS", "agency_name", "select_regulations", "FieldStore", "list_fields"]

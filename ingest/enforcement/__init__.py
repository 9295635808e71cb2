"""谁执法谁普法: who enforces each provision, which duty each penalty punishes, and what the sanctions are.

Pure functions over corpus.model.Article lists:
- references.find_references(text, article_no, clause_no) → Reference list (本法第X条第Y款第（Z）项, lists, ranges,
  前款/本条, 《title》第X条), each with relation violates / according_to / mention;
- fines.extract_sanctions(text, default_party) → Sanction list (责令改正 … 罚款 with min/max yuan or multiples …);
- agencies.find_agencies(text) → canonical agency names (ingest/data/agencies.json: aliases, older names, groups);
- links.analyse_regulation(articles, title) → EnforcementInfo with a JSON payload per article (the 普法清单 built
  from it lives in the top-level outreach package).
"""
from ingest.enforcement.agencies import canonical_agency, find_agencies, find_agency_mentions
from ingest.enforcement.fines import Sanction, extract_sanctions, fine_range
from ingest.enforcement.links import ArticleEnforcement, EnforcementInfo, analyse_regulation
from ingest.enforcement.references import Reference, find_references

__all__ = ["Reference", "find_references", "Sanction", "extract_sanctions", "fine_range", "find_agencies",
           "find_agency_mentions", "canonical_agency", "ArticleEnforcement", "EnforcementInfo", "analyse_regulation"]

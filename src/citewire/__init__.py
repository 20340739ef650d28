"""citewire: answers about the news that show their receipts."""

from citewire.errors import CitewireError
from citewire.models import Article, Document, Hit, IngestReport, Passage, SearchFilters

__all__ = [
    "Article",
    "CitewireError",
    "Document",
    "Hit",
    "IngestReport",
    "Passage",
    "SearchFilters",
]
__version__ = "0.1.0"

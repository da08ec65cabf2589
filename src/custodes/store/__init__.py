"""Database engine, sessions and migrations."""

from custodes.store.base import Base, UTCDateTime
from custodes.store.engine import is_sqlite, make_engine, transaction

__all__ = ["Base", "UTCDateTime", "is_sqlite", "make_engine", "transaction"]

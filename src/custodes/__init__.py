"""custodes: who watches the watchmen? Insider-abuse protection for a marketplace's customer data."""

__version__ = "0.1.0"

"""custodes: who watches the watchmen? Insider-abuse protection for customer data."""

__version__ = "0.1.0"

"""nhiscan: inventory and audit of non-human identities."""

__version__ = "0.1.0"

"""hotline: an offline-first contact-center server."""

__version__ = "0.1.0"

"""contacts-api: the contact book of an SMS platform."""

__version__ = "0.1.0"

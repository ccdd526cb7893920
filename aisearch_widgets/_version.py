"""The package's version: one place, imported by the package face and by every module
that names it in a message (none of them imports the face to learn it)."""

__version__ = "0.1.0"

"""smat-intake: the email review desk behind a council's smat.info address."""

__version__ = "0.1.0"

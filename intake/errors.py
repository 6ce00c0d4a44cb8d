"""The errors the command line turns into one clear sentence each."""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every error that reaches the operator as a sentence, never a traceback."""


class ConfigError(IntakeError):
    """The configuration file is missing, unreadable or invalid; the message names file and key."""


class MailboxUnreachable(IntakeError):
    """The IMAP server could not be reached or refused our login."""


class DeliveryError(IntakeError):
    """The outbound relay could not take a message."""


class StorageError(IntakeError):
    """The database could not be reached or is not initialised."""


class NotFound(IntakeError):
    """A reference named on the command line does not exist."""


class StorageConflict(StorageError):
    """Another writer committed a row with the same unique key first (two services on one database)."""


class StorageRejected(StorageError):
    """The database refused what we asked it to store (a value it cannot hold): a bug met by odd input."""

"""Reply keys: unguessable tokens bound to one item and one person, signed with the secret.

A key travels in a plus-address (smat.info+KEY@domain) so that a reply can be traced to
the member and item it was issued for, even when the subject has been mangled. The
database keeps only each key's digest (`key_digest`), so a copy of it hands out no votes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_KEY = re.compile(r"^[a-z2-7]{29}$")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _mac(secret: bytes, nonce: str, item_id: int, email: str) -> str:
    message = f"{nonce}:{item_id}:{email.lower()}".encode()
    return _b32(hmac.new(secret, message, hashlib.sha256).digest()[:10])


def new_key(secret: bytes, item_id: int, email: str) -> str:
    """A fresh key for this item and person: 13 random characters and a 16-character signature."""
    nonce = _b32(secrets.token_bytes(8))
    return nonce + _mac(secret, nonce, item_id, email)


def verify_key(secret: bytes, key: str, item_id: int, email: str) -> bool:
    """True if the key was signed by us for exactly this item and person."""
    if not _KEY.match(key):
        return False
    return hmac.compare_digest(key[13:], _mac(secret, key[:13], item_id, email))


def key_digest(key: str) -> str:
    """The SHA-256 of a key, in hex: what the database keeps instead of the key itself.

    A plain hash, not an HMAC, is enough: a key is 64 random bits and an 80-bit signature,
    so nobody can work a key back from its digest; and a migration, which has no secret,
    can turn the keys already stored into digests.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def plus_address(address: str, key: str) -> str:
    """smat.info@domain with the key after a plus: smat.info+KEY@domain."""
    local, domain = address.rsplit("@", 1)
    return f"{local}+{key}@{domain}"


def key_from_address(address: str, our_address: str) -> str | None:
    """The key in a plus-address of ours, or None if the address is not one."""
    local, _, domain = address.strip().lower().rpartition("@")
    our_local, _, our_domain = our_address.lower().rpartition("@")
    if domain != our_domain or not local.startswith(our_local + "+"):
        return None
    key = local[len(our_local) + 1 :]
    return key if _KEY.match(key) else None

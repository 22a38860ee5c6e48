"""Authentication: SigV4 parsing (always) and verification (`--auth strict`), and accounts."""

from __future__ import annotations

from gondwana.config import Settings

_DIGITS = set("0123456789")


def account_for(settings: Settings, access_key: str | None) -> str:
    """The account an access key belongs to: configured keys first, then a 12-digit key is itself
    an account id (a convenient way to test several accounts), else the default account."""
    if access_key:
        known = settings.credentials.get(access_key)
        if known is not None:
            return known[0]
        if len(access_key) == 12 and set(access_key) <= _DIGITS:
            return access_key
    return settings.default_account

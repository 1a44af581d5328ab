"""Request headers as the client wrote them."""

from __future__ import annotations

import falcon


def header_text(req: falcon.Request, name: str) -> str | None:
    """A free-text header as the client wrote it: WSGI hands headers over decoded as
    Latin-1, so UTF-8 text (``café``) arrives as ``cafÃ©``; text that is not UTF-8
    stays as it came."""
    value = req.get_header(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value

"""Constructor signatures for ``inspect.signature(FTP)`` and ``FTP_TLS``.

A native class cannot carry a text signature on every Python rftplib
supports, so the classes get a ``__signature__`` that answers for the class
itself only: a subclass with its own ``__init__`` is introspected as usual.
"""

import inspect


class _ClassSignature:
    def __init__(self, owner, signature):
        self._owner = owner
        self._signature = signature

    def __get__(self, obj, objtype=None):
        if obj is None and objtype is self._owner:
            return self._signature
        raise AttributeError("__signature__")


def install(ftplib, FTP, FTP_TLS):
    FTP.__signature__ = _ClassSignature(FTP, inspect.signature(ftplib.FTP))
    base = inspect.signature(ftplib.FTP_TLS)
    kw = inspect.Parameter.KEYWORD_ONLY
    extra = [
        inspect.Parameter("implicit", kw, default=False),
        inspect.Parameter("client_certfile", kw, default=None),
        inspect.Parameter("client_keyfile", kw, default=None),
    ]
    FTP_TLS.__signature__ = _ClassSignature(
        FTP_TLS, base.replace(parameters=[*base.parameters.values(), *extra])
    )

"""One line on stderr for anything a command can run into, naming what to fix; never a traceback.

`explain` turns an exception into that line. Our own errors already say what to do; operating
system and database errors are rephrased around the setting or path the operator controls.
Messages from drivers are cut to their first line (libpq writes several) and URLs lose their
password. Set CUSTODES_DEBUG=1 to get the traceback instead, when reporting a bug.
"""

from __future__ import annotations

import errno
import os

from custodes.errors import CustodesError
from custodes.ledger.errors import LedgerError

DEBUG_ENV = "CUSTODES_DEBUG"  # not a setting: a switch for bug reports, read only here

_OS_HINTS = {
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a path component is a file, not a folder",
    errno.EISDIR: "is a folder, a file was expected",
    errno.EEXIST: "already exists",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.ENOTEMPTY: "folder not empty",
    errno.EADDRINUSE: "address already in use (is another server running on that port?)",
    errno.ECONNREFUSED: "connection refused (is the server running?)",
}


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else ""


def _database_url() -> str:
    from custodes.config import Settings

    try:
        return Settings.from_env().database_display()
    except CustodesError:
        return "(CUSTODES_DATABASE_URL)"


def _os_error(exc: OSError) -> str:
    what = _OS_HINTS.get(exc.errno or -1) or exc.strerror or type(exc).__name__
    where = exc.filename
    if where is None:
        return f"{what}"
    other = f" -> {exc.filename2}" if exc.filename2 else ""
    return f"{where}{other}: {what}; {_path_hint(str(where))}"


def _path_hint(path: str) -> str:
    """Point at CUSTODES_HOME when the path came from it, at the argument otherwise."""
    from custodes.config import DEFAULT_HOME, Settings

    try:
        home = str(Settings.from_env().home)
    except CustodesError:
        home = str(DEFAULT_HOME)
    if path == home or path.startswith(home.rstrip("/") + "/"):
        return "check CUSTODES_HOME"
    return "check the path"


def _sqlalchemy(exc: Exception) -> str | None:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.ArgumentError | sa.NoSuchModuleError):
        return (
            f"CUSTODES_DATABASE_URL is not a usable SQLAlchemy URL ({_first_line(exc)}); "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    if isinstance(exc, sa.OperationalError | sa.InterfaceError):
        cause = _first_line(getattr(exc, "orig", None) or exc)
        return (
            f"cannot use the database at {_database_url()}: {cause}; "
            "check CUSTODES_DATABASE_URL and that the server is up"
        )
    if isinstance(exc, sa.ProgrammingError):
        return (
            f"the database at {_database_url()} refused a statement "
            f"({type(getattr(exc, 'orig', exc)).__name__}); "
            "is its schema from this version? run `custodes init`"
        )
    if isinstance(exc, sa.IntegrityError):
        return "the database refused the change (a conflicting row exists); nothing was written"
    if isinstance(exc, sa.SQLAlchemyError):
        return f"database error ({type(exc).__name__}) at {_database_url()}"
    return None


def explain(exc: BaseException) -> str:
    """The one line to print for `exc` (without the `custodes: error:` prefix)."""
    if isinstance(exc, CustodesError | LedgerError):
        return _first_line(exc) or type(exc).__name__
    sql = _sqlalchemy(exc) if isinstance(exc, Exception) else None
    if sql is not None:
        return sql
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, UnicodeError):
        return f"a file is not valid text ({type(exc).__name__}); files must be UTF-8"
    # Anything else is a bug; its message may carry data, so only the type is printed.
    return (
        f"unexpected {type(exc).__name__}; this is a bug, please report it "
        f"(rerun with {DEBUG_ENV}=1 for the traceback)"
    )

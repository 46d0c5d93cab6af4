"""No ID number and no query string in any log (PIPL): search terms and numbers stay out of them.

``LogFilter`` is on every handler of settings.LOGGING and of gunicorn (``gunicorn.conf.py``, whose
access-log format also leaves the query string and the referrer out). It masks anything shaped
like an ID number and drops the query string of request lines. No Django import here: logging is
configured before the apps are loaded, and gunicorn's master never loads them.
"""

import logging
import re

_ID_SHAPED = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_QUERY_IN_REQUEST_LINE = re.compile(r'("?[A-Z]+ [^ ?"]*)\?[^ "]*')


def scrub(text: str) -> str:
    """``text`` with ID numbers masked (440104********5675) and the query strings of request lines dropped."""
    text = _QUERY_IN_REQUEST_LINE.sub(r"\1", text)
    return _ID_SHAPED.sub(r"\1********\2", text)


class LogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # A traceback may quote a number too (an exception's message, a local's value).
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True

"""gunicorn's settings, read from the directory it starts in (docker-compose: /app).

The access log names the path without its query string (``%(U)s``) and leaves the referrer out:
what someone searched for (an ID number, a name) never reaches it; ``portal.logs.LogFilter``
masks anything shaped like an ID number in what gunicorn logs besides.
"""

import logging

from portal.logs import LogFilter

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'

for _name in ("gunicorn.access", "gunicorn.error"):
    logging.getLogger(_name).addFilter(LogFilter())

"""Middleware of the portal's own."""

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from portal.locking import LockBusy, is_busy

RETRY_AFTER_SECONDS = 5


class LockBusyMiddleware:
    """A lock that could not be had in time is "please retry" (503), never a server error.

    Views that lock catch ``LockBusy`` themselves and answer in place; this is the net under a
    view that does not (and under SQLite's busy file in the demo).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, LockBusy) or is_busy(exception)):
            return None
        message = str(exception) if isinstance(exception, LockBusy) else str(LockBusy())
        response = TemplateResponse(request, "busy.html", {"message": message}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response.render()


class NulInputMiddleware:
    """A NUL character in a query string or a form field is refused (400) before any view runs.

    No browser sends one, and PostgreSQL's text holds none: a view passing such a value on to the
    database would answer with a server error, so the refusal stands at the door for every view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = [*request.GET.lists(), *(request.POST.lists() if request.method == "POST" else ())]
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in sent):
            raise BadRequest("NUL in request data")
        return self.get_response(request)

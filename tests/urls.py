"""The portal's URLs plus what only the test suite and the benchmarks route (tests.settings).

``/_bench/bare/`` is the bare authenticated request the benchmarks measure every page against:
a login-required view returning a short response through the whole middleware stack (sessions,
CSRF, authentication, messages, htmx, axes), so a page's ratio to it is what the page itself costs.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


@login_required
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain; charset=utf-8")


urlpatterns = [*portal_urlpatterns, path("_bench/bare/", bare, name="bench_bare")]

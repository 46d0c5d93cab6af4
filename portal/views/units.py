from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal import selectors
from portal.decorators import role_required
from portal.models import Role


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def unit_tree(request: HttpRequest) -> HttpResponse:
    """Districts → schools with their teacher counts, from one aggregate query."""
    return render(request, "portal/unit_tree.html", {"roots": selectors.unit_tree_for(request.user)})

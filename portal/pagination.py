"""Paginators for the long lists.

``Paginator`` is Django's, except that a list that counted no rows does not build its rows' query (for a
review queue's filters of every level and reach, a few milliseconds for nothing), and that the page's rows
may be read otherwise than the list is counted (``rows``). ``FirstPageCountedPaginator`` reads the first
page's count with its rows.

For lists that can run to a whole city's rows (the roster: 250,000 teachers):

``Paginator.count`` is an exact ``COUNT(*)``: over a city it reads every row, and costs more than the
page. ``CappedPaginator`` counts at most ``cap`` rows; past that the page says "more than N" (``capped``)
and the pager has no last page. Filters narrow the list to an exact count again.
"""

from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class Paginator(DjangoPaginator):
    """``rows``: how the page's slice of the list is read (e.g. ``lambda qs: qs.values_list(...)``), so that the
    count stays a COUNT of the list itself, without the joins the rows' columns need."""

    def __init__(self, object_list, per_page, *, rows=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.rows = rows

    def _get_page(self, object_list, number, paginator):
        if not self.count:
            object_list = []
        elif self.rows is not None:
            object_list = self.rows(object_list)
        return super()._get_page(object_list, number, paginator)


class FirstPageCountedPaginator(Paginator):
    """For a list mostly read at its first page (a review queue): that page's rows carry the list's count, so
    it costs one query instead of two. ``rows`` must give each row it reads the count of the whole list as
    ``total`` (``COUNT(*) OVER ()``, computed before the LIMIT). Other pages count first, as Django's do."""

    _first: list | None = None

    def get_page(self, number):
        if number in (None, "", "1", 1) and self.rows is not None:
            self._first = list(self.rows(self.object_list)[: self.per_page])
            self.count = self._first[0].total if self._first else 0
        return super().get_page(number)

    def _get_page(self, object_list, number, paginator):
        if number == 1 and self._first is not None:
            return DjangoPaginator._get_page(self, self._first, number, paginator)
        return super()._get_page(object_list, number, paginator)


class CappedPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        # A sliced queryset counts in a subquery with LIMIT: the scan stops after cap + 1 rows (in
        # whatever order they come: the list's own order would sort them all first).
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """Whether there are more rows than ``cap``: ``count`` is then ``cap``, a lower bound."""
        return self._counted > self.cap

"""Pages of lists that grow for years (the calls), at a cost that does not grow with them.

Django's paginator counts the whole list (`COUNT(*)` over every call ever) and reads a page
with every annotation of the list's query: on SQLite, when the page's order cannot come
from an index, each annotation (a correlated subquery) was computed for every visible call
before the sort, so the calls list took seconds after two years. `BoundedPaginator`
counts at most `count_limit` rows and reads a page in two queries: the page's ids from the
plain filtered list, then those rows through `rows`, which adds the annotations.
bench/history.py measures the difference.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

# 200 pages of 50: beyond them a date filter is the way back (the pages say so).
COUNT_LIMIT = 10_000


class BoundedPaginator(Paginator):
    """A paginator over an ordered queryset, counting at most `count_limit` rows
    (`count_capped` is true when there are more, and the pages stop there). `rows` turns
    a queryset of the page's ids into the rows to show (select_related, annotations);
    the page keeps the list's order."""

    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        *,
        rows: Callable[[QuerySet], QuerySet] | None = None,
        count_limit: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.rows = rows or (lambda queryset: queryset)
        self.count_limit = COUNT_LIMIT if count_limit is None else count_limit
        self.count_capped = False

    @cached_property
    def count(self) -> int:
        # Unordered and sliced: SQL stops counting at the limit.
        found = self.object_list.order_by().values("pk")[: self.count_limit + 1].count()
        self.count_capped = found > self.count_limit
        return min(found, self.count_limit)

    def _get_page(self, object_list, number, paginator):
        ids = list(object_list.values_list("pk", flat=True))
        model = self.object_list.model
        found = {row.pk: row for row in self.rows(model._default_manager.filter(pk__in=ids))}
        return super()._get_page([found[pk] for pk in ids if pk in found], number, paginator)

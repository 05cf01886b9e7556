"""Pagination of meshview's REST lists, with bounds on what a request may ask for."""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit and offset, `limit` at most MAX_LIMIT and `offset` at most MAX_OFFSET (a 400
    past it): a number too large for the database must not reach it."""

    max_limit = MAX_LIMIT

    def get_offset(self, request: Any) -> int:
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({self.offset_query_param: f"must be at most {MAX_OFFSET}"})
        return offset

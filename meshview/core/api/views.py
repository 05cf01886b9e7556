from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from meshview.core import actions
from meshview.core.api.serializers import ApiTokenSerializer
from meshview.core.models import ApiToken


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """API tokens (admin scope). The secret is shown once, in the answer to the POST."""

    queryset = ApiToken.objects.order_by("name")
    serializer_class = ApiTokenSerializer
    required_scope = "admin"

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token, raw = actions.issue_token(serializer.validated_data["name"], serializer.validated_data["scopes"])
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({**ApiTokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)

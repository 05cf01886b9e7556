from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from meshview.core import actions
from meshview.core.access import request_access
from meshview.core.api.serializers import ApiTokenSerializer, IssuedTokenSerializer
from meshview.core.auth import denial
from meshview.core.models import ApiToken


class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """API tokens (admin scope). The secret is shown once, in the answer to the POST. A token
    is issued with scopes and namespaces within its issuer's own: without `namespaces`, it reads
    what its issuer reads."""

    queryset = ApiToken.objects.order_by("name")
    serializer_class = ApiTokenSerializer
    required_scope = "admin"

    @extend_schema(request=ApiTokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scopes = serializer.validated_data["scopes"]
        namespaces = serializer.validated_data.get("namespaces")
        issuer = request.auth if isinstance(request.auth, ApiToken) else None
        refused = [s for s in scopes if denial(request.user, issuer, s, request.headers) is not None]
        if refused:
            return Response({"detail": f"the issuer lacks the scopes {refused}"}, status=status.HTTP_403_FORBIDDEN)
        readable = request_access(request).namespaces
        if readable is not None:
            if namespaces is None:
                namespaces = sorted(readable)
            elif not set(namespaces) <= readable:
                outside = sorted(set(namespaces) - readable)
                return Response(
                    {"detail": f"the issuer may not read the namespaces {outside}"}, status=status.HTTP_403_FORBIDDEN
                )
        try:
            token, raw = actions.issue_token(serializer.validated_data["name"], scopes, namespaces)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response({**IssuedTokenSerializer(token).data, "token": raw}, status=status.HTTP_201_CREATED)

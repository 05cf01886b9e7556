from rest_framework import serializers

from meshview.core.models import SCOPES, ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), allow_empty=False)
    namespaces = serializers.ListField(
        child=serializers.CharField(max_length=253),
        allow_null=True,
        required=False,
        help_text="namespaces the token may read in full; null: all its issuer may read (the default)",
    )

    class Meta:
        model = ApiToken
        fields: tuple[str, ...] = ("id", "name", "prefix", "scopes", "namespaces", "created_at", "last_used_at")
        read_only_fields: tuple[str, ...] = ("id", "prefix", "created_at", "last_used_at")


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret; returned only when the token is issued")

    class Meta(ApiTokenSerializer.Meta):
        fields = (*ApiTokenSerializer.Meta.fields, "token")
        read_only_fields = (*ApiTokenSerializer.Meta.read_only_fields, "token")

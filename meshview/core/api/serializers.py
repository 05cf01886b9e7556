from rest_framework import serializers

from meshview.core.models import SCOPES, ApiToken


class ApiTokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), allow_empty=False)
    token = serializers.CharField(read_only=True, help_text="The secret; returned only when the token is issued")

    class Meta:
        model = ApiToken
        fields = ("id", "name", "prefix", "scopes", "created_at", "last_used_at", "token")
        read_only_fields = ("id", "prefix", "created_at", "last_used_at", "token")

"""Input and output serializers of the account API."""

from rest_framework import serializers

from accounts.models import CustomerProfile, User


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerProfile
        fields = ["country", "city", "postcode", "phone", "marketing_opt_in"]


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user as they see themselves."""

    profile = ProfileSerializer(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "external_id",
            "is_staff",
            "date_joined",
            "profile",
        ]
        read_only_fields = fields


class MeUpdateInputSerializer(serializers.Serializer):
    """What customers may change about themselves; other fields are ignored."""

    email = serializers.EmailField(required=False, max_length=254)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    profile = ProfileSerializer(required=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True,
        help_text="Send it as `Authorization: Token <token>`. Shown once: only a "
        "digest of it is stored.",
    )
    expiry = serializers.DateTimeField(
        read_only=True, help_text="When the token stops working."
    )

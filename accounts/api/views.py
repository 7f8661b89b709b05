"""Account endpoints: the signed-in user's details and API tokens."""

from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_get_with_profile
from accounts.services import (
    account_update,
    customer_erase,
    token_obtain,
    token_revoke,
)
from ecomsite.permissions import staff_with

from .serializers import MeSerializer, MeUpdateInputSerializer, TokenSerializer
from .throttles import SignInThrottle


class MeView(APIView):
    """The signed-in user's own account."""

    @extend_schema(tags=["account"], summary="Get my account", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = user_get_with_profile(user_id=request.user.pk)
        return Response(MeSerializer(user).data)

    @extend_schema(
        tags=["account"],
        summary="Change my account",
        description="Only email, names and profile fields can change; username, "
        "external_id and is_staff are read-only and ignored.",
        request=MeUpdateInputSerializer,
        responses=MeSerializer,
    )
    def patch(self, request: Request) -> Response:
        changes = MeUpdateInputSerializer(data=request.data, partial=True)
        changes.is_valid(raise_exception=True)
        details = dict(changes.validated_data)
        profile = details.pop("profile", {})
        try:
            account_update(user=request.user, details=details, profile=profile)
        except DjangoValidationError as exc:
            raise ValidationError(as_serializer_error(exc)) from exc
        user = user_get_with_profile(user_id=request.user.pk)
        return Response(MeSerializer(user).data)


class TokenObtainView(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SignInThrottle]

    @extend_schema(
        tags=["account"],
        summary="Obtain an API token",
        description="Each call returns a new token, valid until `expiry` or until "
        "revoked; only its digest is stored. Throttled per client address; "
        "repeated failures lock the address out for a while (429).",
        request=AuthTokenSerializer,
        responses={200: TokenSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # Django's own request, so that the lockout (django-axes) sees the attempt
        # and its middleware answers 429 once the address is locked out.
        credentials = AuthTokenSerializer(
            data=request.data, context={"request": request._request}
        )
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        token, key = token_obtain(user=user)
        # A sign-in like the admin's: resets the lockout count, records last_login.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response(TokenSerializer({"token": key, "expiry": token.expiry}).data)


class TokenRevokeView(APIView):
    """Delete the signed-in user's API tokens."""

    @extend_schema(
        tags=["account"],
        summary="Revoke my API tokens",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


CanEraseCustomers = staff_with(
    "accounts.delete_user",
    "Staff who may delete accounts: erasure deletes one for good.",
)


class CustomerEraseView(APIView):
    """Erase a customer on request (right to erasure), for staff."""

    permission_classes = [CanEraseCustomers]

    @extend_schema(
        tags=["account"],
        summary="Erase a customer (staff)",
        description="Staff who may delete users. Deletes the customer's events, "
        "served lists, token, profile and account; their orders stay, anonymised, "
        "with their totals; a tombstone of keyed hashes keeps imports and training "
        "from bringing them back. 404 for an unknown id; 400 for a staff account.",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(User, pk=pk)
        try:
            customer_erase(customer=customer, erased_by=request.user)
        except DjangoValidationError as exc:
            raise ValidationError(as_serializer_error(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

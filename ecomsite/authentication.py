"""API token authentication, with the token and its user read in one fixed statement."""

from functools import cache

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .sqlreads import build, column, columns, fetch, table


@cache
def _token_statement() -> str:
    user = get_user_model()
    return (
        f"SELECT {columns(Token, 't').sql}, {columns(user, 'u').sql} "
        f"FROM {table(Token)} t JOIN {table(user)} u "
        f"ON u.{column(user, 'id')} = t.{column(Token, 'user')} "
        f"WHERE t.{column(Token, 'key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication (same header, same answers). The ORM's build of
    the token-and-user join cost more than the query on every API request."""

    def authenticate_credentials(self, key: str):
        rows = fetch(_token_statement(), [key])
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        row = rows[0]
        token_columns = columns(Token, "t")
        token = build(token_columns, row[: len(token_columns)])
        token.user = build(columns(get_user_model(), "u"), row[len(token_columns) :])
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

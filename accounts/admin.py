"""Admin of people: staff and customers, with their profile and order counts."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from ecomsite.admin_tools import (
    DeleteWithFactsMixin,
    admin_changelist_url,
    admin_link,
)
from orders.models import Order

from .models import CustomerProfile, User


def order_count() -> Subquery:
    """Count a customer's orders in a subquery, only for the rows shown."""
    orders = (
        Order.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(orders), 0)


class CustomerProfileInline(admin.StackedInline):
    model = CustomerProfile
    can_delete = False
    fields = [
        ("country", "city", "postcode"),
        "phone",
        "marketing_opt_in",
        "attributes",
        ("created_at", "updated_at"),
    ]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(User)
class UserAdmin(DeleteWithFactsMixin, DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "full_name",
        "external_id",
        "is_staff",
        "order_count",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email", "=external_id"]
    search_help_text = "Username, name, e-mail or exact imported customer id."
    ordering = ["-date_joined", "-id"]
    show_full_result_count = False
    inlines = [CustomerProfileInline]
    fieldsets = [
        (None, {"fields": ["username", "password", "external_id"]}),
        *DjangoUserAdmin.fieldsets[1:],
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "external_id",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(order_count=order_count())

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, user):
        return user.get_full_name()

    @admin.display(description="Orders")
    def order_count(self, user):
        if not user.order_count:
            return 0
        url = admin_changelist_url(Order, customer=user.pk)
        return format_html('<a href="{}">{}</a>', url, user.order_count)


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "country",
        "city",
        "postcode",
        "marketing_opt_in",
        "created_at",
    ]
    list_select_related = ["user"]
    list_filter = ["marketing_opt_in", "country"]
    search_fields = ["user__username", "user__email", "=user__external_id", "postcode"]
    ordering = ["-user_id"]  # newest customers first, by primary key
    show_full_result_count = False
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="Customer", ordering="user__username")
    def customer(self, profile):
        return admin_link(profile.user)

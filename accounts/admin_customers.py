"""The customer page for store operators: the customer first, staff machinery out of
sight (staff accounts stay under users, `accounts.admin.UserAdmin`).

A customer's page leads with contact and consent, then lifetime value and orders,
segment and churn risk, recommendations with their reasons and recent behaviour;
its tools export the customer's data (CSV) or erase the customer
(`accounts.services.customer_erase`). The list offers the same two as actions.
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, DecimalField, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ecomsite.admin_tools import admin_changelist_url
from ecomsite.exporting import csv_download
from orders.models import Order
from recommender.models import BehaviourEvent, CustomerSegment
from recommender.segments import active_segments_batch_id, customer_segment
from recommender.selectors import recommendations_for

from .admin import (
    CurrentSegmentFilter,
    CustomerProfileInline,
    current_segment,
    erasure_summary,
    order_count,
    recommendation_items_html,
    segment_profile_html,
)
from .models import Customer, CustomerProfile
from .services import ErasureRefused, customer_erase

RECENT_ORDERS = 10
RECENT_EVENTS = 10
RECOMMENDATIONS = 10
EXPORT_COLUMNS = [
    "id",
    "username",
    "first_name",
    "last_name",
    "email",
    "external_id",
    "country",
    "city",
    "postcode",
    "phone",
    "marketing_opt_in",
    "date_joined",
    "orders",
    "lifetime_value",
    "last_order_at",
    "segment",
    "churn_risk",
]


def counted_orders():
    """Sales that count towards a customer's value: cancelled ones left out."""
    return Order.objects.filter(kind=Order.Kind.SALE).exclude(
        status=Order.Status.CANCELLED
    )


def lifetime_value() -> Subquery:
    """Sum a customer's counted sales in a subquery, only for the rows shown."""
    totals = (
        counted_orders()
        .filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(value=Sum("total"))
        .values("value")
    )
    return Coalesce(
        Subquery(totals),
        Decimal(0),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def last_order_at() -> Subquery:
    orders = (
        Order.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(last=Max("placed_at"))
        .values("last")
    )
    return Subquery(orders)


def churn_risk(batch_id: int | None) -> Subquery:
    rows = CustomerSegment.objects.filter(customer=OuterRef("pk"), batch_id=batch_id)
    return Subquery(rows.values("churn_risk")[:1])


def customers_with_facts(queryset):
    """Annotate customers with their orders, value, last order, segment and risk."""
    batch_id = active_segments_batch_id()
    return queryset.select_related("profile").annotate(
        order_count=order_count(),
        lifetime_value=lifetime_value(),
        last_order_at=last_order_at(),
        segment=current_segment(batch_id),
        churn_risk=churn_risk(batch_id),
    )


def customer_export_rows(queryset):
    """Yield the CSV header, then one row per customer (annotated queryset)."""
    labels = dict(CustomerSegment.Rfm.choices)
    yield EXPORT_COLUMNS
    for customer in queryset.order_by("pk").iterator(chunk_size=2000):
        profile = getattr(customer, "profile", None)
        yield [
            customer.pk,
            customer.username,
            customer.first_name,
            customer.last_name,
            customer.email,
            customer.external_id or "",
            profile.country if profile else "",
            profile.city if profile else "",
            profile.postcode if profile else "",
            profile.phone if profile else "",
            "yes" if profile and profile.marketing_opt_in else "no",
            customer.date_joined.isoformat(),
            customer.order_count,
            f"{customer.lifetime_value:.2f}",
            customer.last_order_at.isoformat() if customer.last_order_at else "",
            labels.get(customer.segment, ""),
            "" if customer.churn_risk is None else f"{customer.churn_risk:.4f}",
        ]


class ConsentFilter(admin.SimpleListFilter):
    title = "marketing consent"
    parameter_name = "consent"

    def lookups(self, request, model_admin):
        return [("yes", "Opted in"), ("no", "Not opted in")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(profile__marketing_opt_in=True)
        if self.value() == "no":
            return queryset.filter(
                Q(profile__isnull=True) | Q(profile__marketing_opt_in=False)
            )
        return queryset


class ContactDetailsInline(CustomerProfileInline):
    verbose_name = "contact details and consent (edit)"
    verbose_name_plural = verbose_name


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Customers as operators look them up: who, how valuable, what next."""

    list_display = [
        "display_name",
        "email",
        "country",
        "consent",
        "orders_link",
        "value_display",
        "last_order_display",
        "segment_display",
        "churn_display",
        "date_joined",
    ]
    list_filter = [CurrentSegmentFilter, ConsentFilter, "is_active", "date_joined"]
    search_fields = ["username", "first_name", "last_name", "email", "=external_id"]
    search_help_text = "Name, username, e-mail or exact imported customer id."
    ordering = ["-date_joined", "-id"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["export_selected", "erase_selected"]
    inlines = [ContactDetailsInline]
    readonly_fields = [
        "contact",
        "consent_text",
        "username",
        "external_id",
        "date_joined",
        "last_login",
        "value_summary",
        "recent_orders",
        "segment_and_risk",
        "recommendations",
        "recent_behaviour",
    ]
    fieldsets = [
        (
            "Customer",
            {
                "fields": [
                    ("first_name", "last_name"),
                    "email",
                    "contact",
                    "consent_text",
                ]
            },
        ),
        ("Value and orders", {"fields": ["value_summary", "recent_orders"]}),
        ("Segment and churn risk", {"fields": ["segment_and_risk"]}),
        ("Recommendations", {"fields": ["recommendations"]}),
        ("Recent behaviour", {"fields": ["recent_behaviour"]}),
        (
            "Account",
            {
                "fields": [
                    "username",
                    "external_id",
                    "is_active",
                    ("date_joined", "last_login"),
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    change_form_template = "admin/accounts/customer/change_form.html"

    def get_queryset(self, request):
        return customers_with_facts(super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # customers sign up in the shop or come from an import

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/export/",
                view(self.export_view),
                name="accounts_customer_export",
            ),
            path(
                "<int:pk>/erase/",
                view(self.erase_view),
                name="accounts_customer_erase",
            ),
            *super().get_urls(),
        ]

    # --- The list -----------------------------------------------------------------

    @admin.display(description="Customer", ordering="last_name")
    def display_name(self, customer):
        return customer.get_full_name() or customer.username

    @admin.display(description="Country", ordering="profile__country")
    def country(self, customer):
        profile = getattr(customer, "profile", None)
        return profile.country if profile and profile.country else "—"

    @admin.display(description="Marketing", boolean=True)
    def consent(self, customer):
        profile = getattr(customer, "profile", None)
        return bool(profile and profile.marketing_opt_in)

    @admin.display(description="Orders", ordering="order_count")
    def orders_link(self, customer):
        if not customer.order_count:
            return 0
        url = admin_changelist_url(Order, customer=customer.pk)
        return format_html('<a href="{}">{}</a>', url, customer.order_count)

    @admin.display(description="Lifetime value", ordering="lifetime_value")
    def value_display(self, customer):
        return f"{customer.lifetime_value:,.2f}"

    @admin.display(description="Last order", ordering="last_order_at")
    def last_order_display(self, customer):
        return customer.last_order_at.date() if customer.last_order_at else "—"

    @admin.display(description="Segment", ordering="segment")
    def segment_display(self, customer):
        return dict(CustomerSegment.Rfm.choices).get(customer.segment, "—")

    @admin.display(description="Churn risk", ordering="churn_risk")
    def churn_display(self, customer):
        return "—" if customer.churn_risk is None else f"{customer.churn_risk:.0%}"

    # --- The page -----------------------------------------------------------------

    @admin.display(description="Contact")
    def contact(self, customer):
        profile = CustomerProfile.objects.filter(user=customer).first()
        if profile is None:
            return "No contact details."
        place = ", ".join(
            part for part in [profile.postcode, profile.city, profile.country] if part
        )
        return format_html(
            "{}<br>{}<br>{}",
            customer.email or "no e-mail",
            profile.phone or "no phone",
            place or "no address",
        )

    @admin.display(description="Marketing consent")
    def consent_text(self, customer):
        profile = CustomerProfile.objects.filter(user=customer).first()
        if profile and profile.marketing_opt_in:
            return "Opted in to marketing."
        return "Not opted in: send no marketing."

    @admin.display(description="Lifetime value")
    def value_summary(self, customer):
        orders = counted_orders().filter(customer=customer)
        facts = orders.aggregate(
            count=Count("pk"), value=Sum("total"), first=Min("placed_at")
        )
        if not facts["count"]:
            return "No orders yet."
        average = facts["value"] / facts["count"]
        currency = orders.values_list("currency", flat=True).first()
        return format_html(
            "<strong>{} {}</strong> over {} order{} since {} (average basket {} {});"
            " cancelled orders left out.",
            f"{facts['value']:,.2f}",
            currency,
            facts["count"],
            "" if facts["count"] == 1 else "s",
            facts["first"].date(),
            f"{average:,.2f}",
            currency,
        )

    @admin.display(description="Recent orders")
    def recent_orders(self, customer):
        orders = list(Order.objects.filter(customer=customer)[:RECENT_ORDERS])
        if not orders:
            return "—"
        rows = format_html_join(
            "",
            '<tr><th scope="row"><a href="{}">{}</a></th><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{} {}</td></tr>",
            (
                (
                    reverse("admin:orders_order_change", args=[order.pk]),
                    order.number,
                    order.placed_at.date(),
                    order.get_kind_display(),
                    order.get_status_display(),
                    order.total,
                    order.currency,
                )
                for order in orders
            ),
        )
        return format_html(
            '<table class="customer-orders"><thead><tr><th scope="col">Order</th>'
            '<th scope="col">Placed</th><th scope="col">Kind</th>'
            '<th scope="col">Status</th><th scope="col">Total</th></tr></thead>'
            '<tbody>{}</tbody></table><p><a href="{}">All orders of this customer</a>'
            "</p>",
            rows,
            admin_changelist_url(Order, customer=customer.pk),
        )

    @admin.display(description="Segment")
    def segment_and_risk(self, customer):
        row = customer_segment(customer)
        if row is None:
            return "No segment served yet."
        return segment_profile_html(row)

    @admin.display(description="For you")
    def recommendations(self, customer):
        items = recommendations_for(customer, limit=RECOMMENDATIONS)
        if not items:
            return "No recommendations served."
        return format_html("<ol>{}</ol>", recommendation_items_html(items))

    @admin.display(description="Last events")
    def recent_behaviour(self, customer):
        events = list(
            BehaviourEvent.objects.filter(customer=customer).select_related("product")[
                :RECENT_EVENTS
            ]
        )
        if not events:
            return "No behaviour recorded."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} {}</li>",
                (
                    (
                        event.occurred_at.strftime("%Y-%m-%d %H:%M"),
                        event.get_kind_display(),
                        event.product.sku
                        if event.product_id
                        else f"“{event.query}”"
                        if event.query
                        else "",
                    )
                    for event in events
                ),
            ),
        )

    # --- Actions: export and erase ------------------------------------------------

    @admin.action(description="Export selected customers (CSV)")
    def export_selected(self, request, queryset):
        return csv_download(customer_export_rows(queryset), "customers.csv")

    @admin.action(description="Erase selected customers…", permissions=["delete"])
    def erase_selected(self, request, queryset):
        """Ask, then erase each selected customer (orders stay, anonymised)."""
        if request.POST.get("confirmed") != "yes":
            return self._confirm_erase(request, list(queryset))
        erased = erase_customers(list(queryset), by=request.user)
        self.message_user(request, f"Erased {erased} customer(s).", messages.SUCCESS)
        return None

    def get_deleted_objects(self, objs, request):
        """Deleting customers erases them; their orders stay, so nothing blocks it."""
        lines, counts = erasure_summary(list(objs))
        return lines, counts, set(), []

    def delete_model(self, request, obj):
        """A plain delete of a customer erases them (tombstone, events, sessions…)."""
        erase_customers([obj], by=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        """The bulk delete erases every selected customer too."""
        erase_customers(list(queryset.order_by("pk")), by=request.user)

    def export_view(self, request, pk: int):
        """Download one customer's data as CSV (the page's "Export data" tool)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=pk)
        get_object_or_404(queryset)
        return csv_download(customer_export_rows(queryset), f"customer-{pk}.csv")

    def erase_view(self, request, pk: int):
        """Ask, then erase one customer (the page's "Erase" tool)."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        if request.method != "POST" or request.POST.get("confirmed") != "yes":
            return self._confirm_erase(request, [customer], single=True)
        erase_customers([customer], by=request.user)
        self.message_user(request, "The customer was erased.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_customer_changelist"))

    def _confirm_erase(self, request, customers, *, single: bool = False):
        context = {
            **self.admin_site.each_context(request),
            "title": "Erase customers?",
            "opts": self.model._meta,
            "customers": customers,
            "single": single,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/accounts/customer/erase_confirmation.html", context
        )


def erase_customers(customers, *, by) -> int:
    """Erase each customer through `customer_erase`; return how many were."""
    erased = 0
    for customer in customers:
        try:
            customer_erase(customer=customer, erased_by=by)
        except ErasureRefused:
            continue  # a staff account: not listed here, refused by the service too
        erased += 1
    return erased

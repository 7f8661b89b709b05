"""Admin of people: staff and customers, with their profile and order counts."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ecomsite.admin_tools import (
    DeleteWithFactsMixin,
    ReadOnlyAdminMixin,
    admin_changelist_url,
    admin_link,
)
from orders.models import Order
from recommender.models import CustomerSegment
from recommender.segments import active_segments_batch_id, customer_segment
from recommender.selectors import recommendations_for

from .models import CustomerProfile, User
from .services import customer_erase


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


def current_segment(batch_id: int | None) -> Subquery:
    """Return a customer's named segment in the given segments batch, as a subquery."""
    rows = CustomerSegment.objects.filter(customer=OuterRef("pk"), batch_id=batch_id)
    return Subquery(rows.values("rfm_segment")[:1])


class CurrentSegmentFilter(admin.SimpleListFilter):
    """Customers by their named segment in the active segments batch."""

    title = "segment"
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return CustomerSegment.Rfm.choices

    def queryset(self, request, queryset):
        if self.value() not in CustomerSegment.Rfm.values:
            return queryset
        members = CustomerSegment.objects.filter(
            batch_id=active_segments_batch_id(), rfm_segment=self.value()
        )
        return queryset.filter(pk__in=members.values("customer_id"))


def segment_profile_html(row: CustomerSegment) -> str:
    """Return a served customer profile: segment, RFM table and category affinities."""
    risk = "—" if row.churn_risk is None else f"{row.churn_risk:.0%}"
    recency = "—" if row.recency_days is None else f"{row.recency_days} days ago"
    rfm = format_html(
        '<table class="customer-rfm"><caption>RFM (scores 1 to 5, 5 best)</caption>'
        '<thead><tr><th scope="col">Measure</th><th scope="col">Value</th>'
        '<th scope="col">Score</th></tr></thead><tbody>'
        '<tr><th scope="row">Recency</th><td>last purchase {}</td><td>{}</td></tr>'
        '<tr><th scope="row">Frequency</th><td>{} orders</td><td>{}</td></tr>'
        '<tr><th scope="row">Monetary</th><td>{} spent</td><td>{}</td></tr>'
        "</tbody></table>",
        recency,
        row.r_score,
        row.frequency,
        row.f_score,
        row.monetary,
        row.m_score,
    )
    affinities = format_html_join(
        "",
        '<li>{} ({}) <meter min="0" max="1" value="{}" aria-hidden="true"></meter>'
        "</li>",
        (
            (a["name"], f"{a['share']:.0%}", f"{a['share']:.3f}")
            for a in row.category_affinities
        ),
    )
    return format_html(
        "<p><strong>{}</strong> · RFM {}{}{} · churn risk {} · {} · {}</p>{}"
        "<p>Category affinities (share of what they bought):</p>{}",
        row.get_rfm_segment_display(),
        row.r_score,
        row.f_score,
        row.m_score,
        risk,
        row.cluster_label or "no cluster",
        row.price_band or "no price band",
        rfm,
        format_html("<ol>{}</ol>", affinities) if affinities else "—",
    )


def recommendation_items_html(items):
    """A served "for you" list as <li> items: product link, name and reason."""
    return format_html_join(
        "",
        '<li><a href="{}">{}</a> {} — {}</li>',
        (
            (
                reverse("admin:catalog_product_change", args=[item.product.pk]),
                item.product.sku,
                item.product.name,
                item.reason or "no reason given",
            )
            for item in items
        ),
    )


# --- Erasure (right to be forgotten), reusable by any admin of customers --------------


def erasure_summary(customers) -> tuple[list, dict]:
    """What deleting these customers does (an erasure), for a delete confirmation."""
    lines = [
        format_html(
            "Customer {} is erased: events, lists, tokens, sessions and profile "
            "deleted, orders kept without the customer.",
            customer,
        )
        for customer in customers
    ]
    return lines, ({"customers erased": len(customers)} if customers else {})


def erase_confirmation(modeladmin, request, queryset) -> TemplateResponse:
    """Show what erasing the selected accounts does and ask to confirm it."""
    customers = list(queryset.filter(is_staff=False).order_by("pk"))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Erase customers?",
        "opts": modeladmin.model._meta,
        "customers": customers,
        "staff": list(queryset.filter(is_staff=True).order_by("pk")),
        "queryset": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": request.POST.get("action", "erase_customers"),
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/accounts/erase_confirmation.html", context)


def erase_selected(modeladmin, request, queryset) -> int:
    """Erase each selected customer through the erasure service; staff accounts are
    refused (named in a message). Return how many were erased."""
    erased = 0
    for customer in queryset.filter(is_staff=False).order_by("pk"):
        customer_erase(customer=customer, erased_by=request.user)
        erased += 1
    refused = queryset.filter(is_staff=True).count()
    if refused:
        modeladmin.message_user(
            request,
            f"{refused} staff account(s) were not erased: remove their staff status "
            "first.",
            messages.WARNING,
        )
    return erased


@admin.action(
    description="Erase the selected customers (right to erasure)",
    permissions=["delete"],
)
def erase_customers(modeladmin, request, queryset):
    """Erase customers after a confirmation page: their events, lists, tokens,
    sessions, sign-in records, profile and account go, orders stay anonymised, a
    tombstone of keyed hashes keeps imports from bringing them back."""
    if request.POST.get("post") != "yes":
        return erase_confirmation(modeladmin, request, queryset)
    with transaction.atomic():
        erased = erase_selected(modeladmin, request, queryset)
    modeladmin.message_user(
        request, f"Erased {erased} customer(s); tombstones kept.", messages.SUCCESS
    )
    return None


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
        "segment",
        "date_joined",
    ]
    list_filter = [
        CurrentSegmentFilter,
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
    ]
    search_fields = ["username", "first_name", "last_name", "email", "=external_id"]
    search_help_text = "Username, name, e-mail or exact imported customer id."
    ordering = ["-date_joined", "-id"]
    show_full_result_count = False
    inlines = [CustomerProfileInline]
    actions = [erase_customers]
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

    behaviour_fieldset = (
        "Behaviour and recommendations",
        {"fields": ["behaviour"], "classes": ["wide"]},
    )

    def get_deleted_objects(self, objs, request):
        """Describe the erasure of customers (their orders stay, anonymised, so
        they do not block it); staff accounts as a plain delete."""
        staff = [user for user in objs if user.is_staff]
        customers = [user for user in objs if not user.is_staff]
        if staff:
            to_delete, counts, perms_needed, protected = super().get_deleted_objects(
                staff, request
            )
        else:
            to_delete, counts, perms_needed, protected = [], {}, set(), []
        erased, erased_counts = erasure_summary(customers)
        return to_delete + erased, counts | erased_counts, perms_needed, protected

    def delete_model(self, request, obj):
        """Deleting a customer erases them (tombstone, events, sessions…)."""
        if obj.is_staff:
            super().delete_model(request, obj)
        else:
            customer_erase(customer=obj, erased_by=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        """The bulk delete erases customers too; staff accounts are deleted."""
        for user in queryset.order_by("pk"):
            self.delete_model(request, user)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                order_count=order_count(),
                segment=current_segment(active_segments_batch_id()),
            )
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, self.behaviour_fieldset]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "behaviour"] if obj is not None else fields

    @admin.display(description="Segment", ordering="segment")
    def segment(self, user):
        labels = dict(CustomerSegment.Rfm.choices)
        return labels.get(user.segment, "—")

    @admin.display(description="Profile")
    def behaviour(self, user):
        """The customer's segment, RFM, churn risk, category affinities and "for you"."""
        row = customer_segment(user)
        if row is None:
            profile = format_html("<p>{}</p>", "No segment served yet.")
        else:
            profile = segment_profile_html(row)
        items = recommendations_for(user, limit=10)
        if not items:
            return profile + format_html("<p>{}</p>", "No recommendations served.")
        return profile + format_html(
            '<h3 id="for-you">For you (recommendations and why)</h3>'
            '<ol aria-labelledby="for-you">{}</ol>',
            recommendation_items_html(items),
        )

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


@admin.register(LogEntry)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who changed what in the admin, and when: read-only, for superusers."""

    list_display = ["action_time", "user", "action", "object_type", "object_link"]
    list_filter = ["action_flag", "content_type", "action_time"]
    search_fields = ["object_repr", "change_message", "user__username"]
    date_hierarchy = "action_time"
    list_select_related = ["user", "content_type"]
    fields = list_display + ["change_message"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.display(description="Action", ordering="action_flag")
    def action(self, entry: LogEntry) -> str:
        return {ADDITION: "Added", CHANGE: "Changed", DELETION: "Deleted"}.get(
            entry.action_flag, "?"
        )

    @admin.display(description="Type", ordering="content_type__model")
    def object_type(self, entry: LogEntry) -> str:
        return entry.content_type.name if entry.content_type else "—"

    @admin.display(description="Object")
    def object_link(self, entry: LogEntry) -> str:
        if entry.action_flag == DELETION or not entry.get_admin_url():
            return entry.object_repr
        return format_html(
            '<a href="{}">{}</a>', entry.get_admin_url(), entry.object_repr
        )

"""Admin of the catalogue: categories, products with images, price and stock history,
and the review queue of automatic categories with its decision log."""

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.db.models import CharField, Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ecomsite.admin_tools import (
    DeleteWithFactsMixin,
    ReadOnlyAdminMixin,
    admin_changelist_url,
    admin_link,
    selected_object_filter,
    thumbnail_html,
)
from ecomsite.numbers import parse_whole_number
from forecasting.display import forecast_display
from mlops.admin import can_start_runs
from mlops.models import ModelKind
from mlops.selectors import active_batches
from recommender.selectors import bought_together, serving_rules, similar_products

from .admin_forms import ProductImageForm, RecentRowsFormSet
from .admin_views import record_stock_movement, review_decide
from .categorisation import (
    product_category_set_by_operator,
    review_accept_bulk,
    review_queue,
    suggestion_categories,
)
from .models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    CategoryDecision,
    CategoryReview,
    PriceChange,
    Product,
    ProductImage,
    StockMovement,
)
from .selectors import category_leaves, visually_similar_products
from .services import product_set_price

# The model kinds whose served results a product page shows.
PRODUCT_MODEL_KINDS = [
    ModelKind.DEMAND,
    ModelKind.PRICE,
    ModelKind.IMAGE,
    ModelKind.RECOMMENDER,
]
SERVED_LIST_NOTE = (
    "As customers see it, from the active served batch: inactive, out-of-stock and "
    "excluded products are left out and ranks renumbered."
)


def served_list_html(items) -> str:
    """Return a served list as a small table: rank, product link, score, reason."""
    if not items:
        return format_html("<p>{}</p>", "Nothing served for this product.")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.rank,
                product_link(item.product),
                "—" if item.score is None else f"{item.score:.4f}",
                item.reason or "—",
            )
            for item in items
        ),
    )
    return format_html(
        "<table><thead><tr><th>Rank</th><th>Product</th><th>Score</th>"
        '<th>Reason</th></tr></thead><tbody>{}</tbody></table><p class="help">{}</p>',
        rows,
        SERVED_LIST_NOTE,
    )


def visually_similar_html(items) -> str:
    """Return a "visually similar" list as a table: rank, thumbnail, product, score."""
    if not items:
        return format_html(
            "<p>{}</p>", "No visually similar products: no image embedding yet."
        )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.rank,
                thumbnail_html(media_url(item.image_name), item.product.name),
                product_link(item.product),
                f"{item.score:.3f}",
            )
            for item in items
        ),
    )
    return format_html(
        "<table><thead><tr><th>Rank</th><th>Image</th><th>Product</th>"
        '<th>Cosine</th></tr></thead><tbody>{}</tbody></table><p class="help">{}</p>',
        rows,
        "Nearest by the image model's picture embeddings. Inactive, out-of-stock "
        "and excluded products are left out and ranks renumbered.",
    )


ProductFilter = selected_object_filter("product", "product")
AUTO_CATEGORY_FIELDS = [
    "category_source",
    "auto_category_summary",
    "auto_category_status",
    "auto_category_version_link",
    "auto_category_suggestion_list",
    "category_decision_list",
]
FORECAST_FIELDS = [
    "forecast_demand_chart",
    "forecast_price_chart",
    "forecast_stock_chart",
    "forecast_page_link",
]


def first_image_name() -> Subquery:
    """Return the file name of a product's first picture (its thumbnail if made)."""
    images = ProductImage.objects.filter(product=OuterRef("pk")).order_by(
        "position", "id"
    )
    text = CharField()
    name = Coalesce(
        NullIf("thumbnail", Value(""), output_field=text), "image", output_field=text
    )
    return Subquery(images.annotate(name=name).values("name")[:1])


def media_url(name: str | None) -> str | None:
    return ProductImage._meta.get_field("thumbnail").storage.url(name) if name else None


def product_link(product: Product | None):
    return admin_link(product, product.sku if product else None)


# --- Categories ---------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = [
        "path",
        "depth",
        "product_count",
        "default_lead_time_days",
        "default_service_level",
    ]
    list_filter = ["depth"]
    search_fields = ["name", "path"]
    search_help_text = "Name or full path, e.g. Kitchen > Mugs."
    ordering = ["path"]
    autocomplete_fields = ["parent"]
    fields = [
        "name",
        "parent",
        "path",
        "depth",
        "default_lead_time_days",
        "default_service_level",
    ]
    readonly_fields = ["path", "depth"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="Products here", ordering="product_count")
    def product_count(self, category):
        url = admin_changelist_url(Product, category=category.pk)
        return format_html('<a href="{}">{}</a>', url, category.product_count)


# --- Products -----------------------------------------------------------------


class CategoryTreeFilter(admin.SimpleListFilter):
    """Filter products by a category and everything below it."""

    title = "category (with subcategories)"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        roots = Category.objects.filter(depth=0).values_list("pk", "path")
        choices = [("none", "No category (to classify)")]
        choices += [(str(pk), label) for pk, label in roots]
        value = self.value()
        if parse_whole_number(value) is not None and value not in dict(choices):
            chosen = Category.objects.filter(pk=value).values_list("pk", "path")
            choices += [(str(pk), label) for pk, label in chosen]
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(category__isnull=True)
        if not value:
            return queryset
        root = (
            Category.objects.filter(pk=parse_whole_number(value))
            .values_list("path", flat=True)
            .first()
        )
        if root is None:
            return queryset.none()
        subtree = Category.objects.filter(
            Q(path=root) | Q(path__startswith=f"{root}{CATEGORY_PATH_SEPARATOR}")
        )
        return queryset.filter(category__in=subtree)


class StockStatusFilter(admin.SimpleListFilter):
    """In stock or out of stock (tracked products), or not tracked at all."""

    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [
            ("in", "In stock"),
            ("out", "Out of stock"),
            ("untracked", "Not tracked"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "in":
                return queryset.filter(stock_tracked=True, stock_on_hand__gt=0)
            case "out":
                return queryset.filter(stock_tracked=True, stock_on_hand__lte=0)
            case "untracked":
                return queryset.filter(stock_tracked=False)
        return queryset


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = [
        "preview",
        "upload",
        "alt_text",
        "position",
        "dimensions",
        "format",
        "size_bytes",
        "checksum_short",
    ]
    readonly_fields = [
        "preview",
        "dimensions",
        "format",
        "size_bytes",
        "checksum_short",
    ]
    ordering = ["position", "id"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Preview")
    def preview(self, image):
        if not image.pk:
            return "—"
        name = image.thumbnail.name or image.image.name
        return thumbnail_html(media_url(name), image.alt_text, size=64)

    @admin.display(description="Size (px)")
    def dimensions(self, image):
        return f"{image.width}×{image.height}" if image.pk else "—"

    @admin.display(description="Checksum")
    def checksum_short(self, image):
        if not image.pk:
            return "—"
        return format_html(
            '<code title="SHA-256 {}">{}…</code>', image.checksum, image.checksum[:12]
        )


class HistoryInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The newest rows of a product's history, read-only, with a link to all of it."""

    formset = RecentRowsFormSet
    template = "admin/edit_inline/recent_rows_tabular.html"
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class PriceChangeInline(HistoryInline):
    model = PriceChange
    fields = ["effective_at", "price", "currency", "source", "note", "created_by"]
    ordering = ["-effective_at", "-id"]
    verbose_name_plural = "price history"


class StockMovementInline(HistoryInline):
    model = StockMovement
    fields = [
        "occurred_at",
        "kind",
        "quantity",
        "balance_after",
        "reference",
        "note",
        "created_by",
    ]
    ordering = ["-occurred_at", "-id"]
    verbose_name_plural = "stock ledger"


@admin.register(Product)
class ProductAdmin(DeleteWithFactsMixin, admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "sku",
        "name",
        "category_path",
        "price_display",
        "stock_display",
        "is_active",
    ]
    list_display_links = ["thumbnail", "sku"]
    list_select_related = ["category"]
    list_filter = [
        CategoryTreeFilter,
        "is_active",
        "stock_tracked",
        StockStatusFilter,
        "category_source",
        "auto_category_status",
    ]
    list_per_page = 50
    search_fields = ["sku", "name"]
    search_help_text = "SKU or part of the name."
    ordering = ["sku"]
    show_full_result_count = False
    autocomplete_fields = ["category"]
    inlines = [ProductImageInline, PriceChangeInline, StockMovementInline]
    readonly_fields = [
        "stock_status",
        "similar_list",
        "bought_together_list",
        "visually_similar_list",
        "created_at",
        "updated_at",
        *AUTO_CATEGORY_FIELDS,
        *FORECAST_FIELDS,
    ]
    fieldsets = [
        (None, {"fields": ["sku", "name", "description", "category", "is_active"]}),
        (
            "Automatic category",
            {
                "fields": AUTO_CATEGORY_FIELDS,
                "description": "What the image model said. A category set here is "
                "the operator's: the model never overwrites it.",
            },
        ),
        (
            "Price",
            {
                "fields": ["price", "cost", "currency"],
                "description": "A new price is written to the price history.",
            },
        ),
        (
            "Stock",
            {
                "fields": [
                    "stock_tracked",
                    "stock_status",
                    "lead_time_days",
                    "service_level",
                    "launched_on",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    recommendation_fieldset = (
        "Recommendations",
        {
            "fields": [
                "similar_list",
                "bought_together_list",
                "visually_similar_list",
            ],
            "classes": ["collapse"],
        },
    )
    forecast_fieldset = (
        "Forecast",
        {
            "fields": FORECAST_FIELDS,
            "description": "From the active served demand and price forecasts.",
        },
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [
            *fieldsets[:-1],
            self.recommendation_fieldset,
            self.forecast_fieldset,
            fieldsets[-1],
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(image_name=first_image_name())

    def get_urls(self):
        record = self.admin_site.admin_view(self.record_stock_movement_view)
        return [
            path(
                "<path:object_id>/stock-movement/",
                record,
                name="catalog_product_stock_movement",
            ),
            *super().get_urls(),
        ]

    def record_stock_movement_view(self, request, object_id):
        return record_stock_movement(self, request, object_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pk = unquote(object_id)
        links = {
            "stock_ledger_url": admin_changelist_url(StockMovement, product=pk),
            "price_history_url": admin_changelist_url(PriceChange, product=pk),
        }
        if request.user.has_perm("catalog.add_stockmovement"):
            links["record_stock_movement_url"] = reverse(
                "admin:catalog_product_stock_movement", args=[quote(pk)]
            )
        if can_start_runs(request.user):  # retrain or re-run the models it is served
            served = active_batches()
            links["product_model_kinds"] = [
                (kind, ModelKind(kind).label, served.get(kind))
                for kind in PRODUCT_MODEL_KINDS
            ]
        return super().change_view(
            request, object_id, form_url, {**links, **(extra_context or {})}
        )

    def save_model(self, request, obj, form, change):
        """Save the product; a new or changed price goes through the price history,
        and a category set here is the operator's (a decision if the model had one)."""
        price = obj.price
        price_is_new = not change or "price" in form.changed_data
        if change and price_is_new:
            obj.price = form.initial["price"]
        super().save_model(request, obj, form, change)
        if price_is_new:
            product_set_price(
                product=obj, price=price, user=request.user, note="Set in the admin"
            )
        if "category" in form.changed_data or not change:
            product_category_set_by_operator(product=obj, user=request.user)

    @admin.display(description="Image")
    def thumbnail(self, product):
        return thumbnail_html(media_url(product.image_name), product.name)

    @admin.display(description="Category", ordering="category__path")
    def category_path(self, product):
        return product.category.path if product.category else "—"

    @admin.display(description="Price", ordering="price")
    def price_display(self, product):
        return f"{product.price} {product.currency}"

    @admin.display(description="Stock", ordering="stock_on_hand")
    def stock_display(self, product):
        if not product.stock_tracked:
            return format_html('<span class="stock-untracked">{}</span>', "Not tracked")
        if product.stock_on_hand <= 0:
            return format_html(
                '<img src="{}" alt=""> <strong class="stock-out">{}</strong>',
                static("admin/img/icon-no.svg"),
                "Out of stock",
            )
        return product.stock_on_hand

    @admin.display(description="Similar products")
    def similar_list(self, product):
        return served_list_html(
            similar_products(product, rules=self._serving_rules(product))
        )

    @admin.display(description="Bought together")
    def bought_together_list(self, product):
        return served_list_html(
            bought_together(product, rules=self._serving_rules(product))
        )

    @admin.display(description="Visually similar")
    def visually_similar_list(self, product):
        return visually_similar_html(
            visually_similar_products(product, rules=self._serving_rules(product))
        )

    @staticmethod
    def _serving_rules(product):
        """Read the operator's rules once for both lists of the page."""
        if not hasattr(product, "_serving_rules"):
            product._serving_rules = serving_rules()
        return product._serving_rules

    # Forecast charts: read once per change page, never on the changelist.

    @staticmethod
    def _forecast(product):
        if not hasattr(product, "_forecast_display"):
            product._forecast_display = forecast_display(product)
        return product._forecast_display

    @admin.display(description="Forecast page")
    def forecast_page_link(self, product):
        url = reverse("forecasting:product", args=[product.sku])
        return format_html(
            '<a href="{}">{}</a>', url, "Staff page: facts, data tables and what-if"
        )

    @admin.display(description="Demand")
    def forecast_demand_chart(self, product):
        display = self._forecast(product)
        summary = display.summary
        if summary is None or not summary.explanation:
            return display.demand_chart.html()
        return format_html(
            "<p>{}</p>{}", summary.explanation, display.demand_chart.html()
        )

    @admin.display(description="Price")
    def forecast_price_chart(self, product):
        display = self._forecast(product)
        if not display.price_note:
            return display.price_chart.html()
        return format_html(
            "<p>{}</p>{}{}",
            display.price_note,
            render_to_string(
                "forecasting/_price_plan.html", {"plan": display.price_plan}
            ),
            display.price_chart.html(),
        )

    @admin.display(description="Projected stock")
    def forecast_stock_chart(self, product):
        display = self._forecast(product)
        if display.stock_chart is None:
            if not product.stock_tracked:
                return "Not tracked."
            return "No projection without a served demand forecast."
        return display.stock_chart.html()

    # Automatic category: what the model said and what operators decided.

    @admin.display(description="The model's view")
    def auto_category_summary(self, product):
        """Say what the model said, and whether it agrees with a person's category."""
        if product.auto_category_id is None:
            return "Not classified yet."
        said = (
            product.auto_category.path,
            confidence_text(product.auto_category_confidence),
        )
        if not product.category_set_by_person:
            return format_html("{} ({})", *said)
        if product.auto_category_id == product.category_id:
            return format_html("Agrees with the category set: {} ({})", *said)
        return format_html(
            "Suggests {} ({}) instead of the category set, {}",
            *said,
            product.category.path,
        )

    @admin.display(description="Model version")
    def auto_category_version_link(self, product):
        version = product.auto_category_version
        return admin_link(version, f"image v{version.version}" if version else None)

    @admin.display(description="Top suggestions")
    def auto_category_suggestion_list(self, product):
        categories = suggestion_categories([product])
        items = [
            (categories[s["category"]].path, confidence_text(s["confidence"]))
            for s in product.auto_category_suggestions or []
            if s["category"] in categories
        ]
        if not items:
            return "—"
        return format_html(
            "<ol>{}</ol>", format_html_join("", "<li>{} ({})</li>", items)
        )

    @admin.display(description="Decisions")
    def category_decision_list(self, product):
        decisions = product.category_decisions.select_related("category", "user")[:5]
        rows = [
            (
                f"{d.decided_at:%Y-%m-%d %H:%M}",
                d.get_action_display(),
                d.category.path if d.category else "—",
                d.user or "model",
            )
            for d in decisions
        ]
        if not rows:
            return "None yet."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{} {}: {} by {}</li>", rows)
        )

    @admin.display(description="On hand")
    def stock_status(self, product):
        if not product.pk:
            return "Recorded through stock movements once the product is saved."
        if not product.stock_tracked:
            return "Not tracked"
        url = reverse("admin:catalog_product_stock_movement", args=[product.pk])
        return format_html(
            '{} <a href="{}" class="button">Record stock movement</a>',
            "Out of stock" if product.stock_on_hand <= 0 else product.stock_on_hand,
            url,
        )


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    form = ProductImageForm
    list_display = [
        "thumbnail",
        "product_sku",
        "position",
        "dimensions",
        "format",
        "size_bytes",
        "created_at",
    ]
    list_select_related = ["product"]
    list_filter = [ProductFilter, "format"]
    search_fields = ["product__sku", "product__name", "alt_text"]
    ordering = ["product_id", "position", "id"]
    show_full_result_count = False
    autocomplete_fields = ["product"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["product", "upload", "alt_text", "position"]
        return [
            "product",
            "preview",
            "alt_text",
            "position",
            "dimensions",
            "format",
            "size_bytes",
            "checksum",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "product",
            "preview",
            "dimensions",
            "format",
            "size_bytes",
            "checksum",
            "created_at",
        ]

    def save_model(self, request, obj, form, change):
        # A new picture was stored by the form, through product_image_add.
        if change:
            super().save_model(request, obj, form, change)

    @admin.display(description="Image")
    def thumbnail(self, image):
        name = image.thumbnail.name or image.image.name
        return thumbnail_html(media_url(name), image.alt_text)

    @admin.display(description="Preview")
    def preview(self, image):
        name = image.thumbnail.name or image.image.name
        return thumbnail_html(media_url(name), image.alt_text, size=256)

    @admin.display(description="Product", ordering="product__sku")
    def product_sku(self, image):
        return product_link(image.product)

    @admin.display(description="Size (px)")
    def dimensions(self, image):
        return f"{image.width}×{image.height}"


# --- Category review queue -------------------------------------------------------


def confidence_text(confidence: float | None) -> str:
    return "—" if confidence is None else f"{confidence:.0%}"


class ReviewChangeList(ChangeList):
    """Attach each row's suggested categories, read for the whole page in one query."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        categories = suggestion_categories(self.result_list)
        for product in self.result_list:
            product.suggested = [
                (categories[s["category"]], s["confidence"])
                for s in product.auto_category_suggestions or []
                if s["category"] in categories
            ]


def can_review_categories(user) -> bool:
    """Whether a user may decide products' categories in the review queue."""
    return user.has_perm("catalog.review_category") or user.has_perm(
        "catalog.change_product"
    )


@admin.register(CategoryReview)
class CategoryReviewAdmin(admin.ModelAdmin):
    """Products the model was unsure about: accept a suggestion or pick another."""

    change_list_template = "admin/catalog/review_queue.html"
    list_display = [
        "thumbnail",
        "product_display",
        "suggestion_buttons",
        "why_in_review",
        "pick_another",
        "model_version",
    ]
    list_display_links = None
    list_filter = [("auto_category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sku", "name"]
    search_help_text = "SKU or part of the name."
    ordering = ["-auto_category_confidence", "pk"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["accept_selected"]

    def get_queryset(self, request):
        return review_queue().annotate(image_name=first_image_name())

    def get_changelist(self, request, **kwargs):
        return ReviewChangeList

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("decide/", decide, name="catalog_categoryreview_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request):
        return review_decide(self, request)

    def changelist_view(self, request, extra_context=None):
        leaves = category_leaves().order_by("path").values_list("path", flat=True)
        context = {
            "category_paths": list(leaves),
            "decide_url": reverse("admin:catalog_categoryreview_decide"),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Products are edited on their own page; the queue has no form of its own.
        return redirect(
            reverse("admin:catalog_product_change", args=[quote(unquote(object_id))])
        )

    def has_review_permission(self, request) -> bool:
        return can_review_categories(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_review_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Accept the top suggestion of the selected products",
        permissions=["review"],
    )
    def accept_selected(self, request, queryset):
        accepted = review_accept_bulk(products=queryset, user=request.user)
        self.message_user(
            request, f"Accepted the suggested category of {accepted} products."
        )

    @admin.display(description="Image")
    def thumbnail(self, product):
        return thumbnail_html(media_url(product.image_name), product.name, size=96)

    @admin.display(description="Product", ordering="sku")
    def product_display(self, product):
        return format_html(
            "{}<br>{}",
            admin_link(product, product.sku),
            product.name,
        )

    @admin.display(description="Suggestions (click to accept)")
    def suggestion_buttons(self, product):
        decide_url = reverse("admin:catalog_categoryreview_decide")
        return format_html_join(
            "",
            '<button type="submit" class="button" formaction="{}" name="accept" '
            'value="{}:{}" title="File under {}" style="margin: 0 4px 4px 0">'
            "{} <strong>{}</strong></button>",
            (
                (
                    decide_url,
                    product.pk,
                    category.pk,
                    category.path,
                    category.path,
                    confidence_text(confidence),
                )
                for category, confidence in product.suggested
            ),
        )

    @admin.display(description="Why not filed automatically")
    def why_in_review(self, product):
        return product.auto_category_reason or "—"

    @admin.display(description="Pick another")
    def pick_another(self, product):
        return format_html(
            '<input type="text" name="pick-{}" list="review-category-paths" '
            'placeholder="Category path" aria-label="Another category for {}" '
            'size="24"> <button type="submit" class="button" formaction="{}" '
            'name="pick" value="{}">Set</button>',
            product.pk,
            product.sku,
            reverse("admin:catalog_categoryreview_decide"),
            product.pk,
        )

    @admin.display(description="Model", ordering="auto_category_version")
    def model_version(self, product):
        version = product.auto_category_version
        return f"image v{version.version}" if version else "—"


# --- Ledgers --------------------------------------------------------------------


@admin.register(PriceChange)
class PriceChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "effective_at",
        "product_sku",
        "price_display",
        "source",
        "note",
        "created_by",
    ]
    list_select_related = ["product", "created_by"]
    list_filter = [ProductFilter, "source", "effective_at"]
    search_fields = ["product__sku", "note"]
    search_help_text = "SKU or note."
    ordering = ["-id"]  # newest entry first, without sorting the whole history
    show_full_result_count = False

    @admin.display(description="Product", ordering="product__sku")
    def product_sku(self, change):
        return product_link(change.product)

    @admin.display(description="Price", ordering="price")
    def price_display(self, change):
        return f"{change.price} {change.currency}"


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "product_sku",
        "kind",
        "signed_quantity",
        "balance_after",
        "reference",
        "created_by",
    ]
    list_select_related = ["product", "created_by"]
    list_filter = [ProductFilter, "kind", "occurred_at"]
    search_fields = ["product__sku", "reference"]
    search_help_text = "SKU or reference (order number, purchase order…)."
    ordering = ["-id"]  # ledger order, newest entry first; no sort on big tables
    show_full_result_count = False

    @admin.display(description="Product", ordering="product__sku")
    def product_sku(self, movement):
        return product_link(movement.product)

    @admin.display(description="Quantity", ordering="quantity")
    def signed_quantity(self, movement):
        return f"{movement.quantity:+d}"


@admin.register(CategoryDecision)
class CategoryDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every category decision, by the model or an operator, with what the model said."""

    list_display = [
        "decided_at",
        "product_sku",
        "action",
        "category",
        "confidence_display",
        "model_version",
        "decided_by",
    ]
    list_select_related = ["product", "category", "model_version", "user"]
    list_filter = [ProductFilter, "action", "decided_at"]
    search_fields = ["product__sku"]
    search_help_text = "SKU."
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="Product", ordering="product__sku")
    def product_sku(self, decision):
        return product_link(decision.product)

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_display(self, decision):
        return confidence_text(decision.confidence)

    @admin.display(description="By")
    def decided_by(self, decision):
        return decision.user or "model"

"""Building blocks shared by the shop's admin classes: links, thumbnails, filters."""

import functools
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import NestedObjects
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import models, router
from django.db.models import Max, Min
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst

from .numbers import parse_whole_number


def admin_change_url(obj: models.Model) -> str:
    """Return the admin change page of an object."""
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def admin_changelist_url(model: type[models.Model], **params) -> str:
    """Return the admin list of a model, filtered by the given query parameters."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def admin_link(obj: models.Model | None, text: str | None = None) -> str:
    """Return a link to an object's change page, or a dash when there is none."""
    if obj is None:
        return "—"
    return format_html('<a href="{}">{}</a>', admin_change_url(obj), text or obj)


def thumbnail_html(url: str | None, alt: str, size: int = 48) -> str:
    """Return a small <img> for lists, or a text placeholder when there is no image."""
    if not url:
        return format_html('<span class="no-thumbnail">{}</span>', "No image")
    return format_html(
        '<img src="{}" alt="{}" width="{}" height="{}" loading="lazy" '
        'style="object-fit: contain; background: #fff;">',
        url,
        alt,
        size,
        size,
    )


class ReadOnlyAdminMixin:
    """Show rows without letting anyone add, change or delete them (ledgers, facts)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def selected_object_filter(field_name: str, title: str) -> type[admin.SimpleListFilter]:
    """Return a list filter on a foreign key that shows only the chosen object.

    Lists of millions of rows cannot offer every product or customer as a choice;
    links from other pages (`?product=42`) set the filter, and the sidebar says which
    object the list is narrowed to and offers to clear it.
    """

    class SelectedObjectFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request, model_admin):
            value = self.value()
            if parse_whole_number(value) is None:
                return []
            related = model_admin.model._meta.get_field(field_name).related_model
            obj = related._default_manager.filter(pk=value).first()
            return [(value, str(obj))] if obj else []

        def queryset(self, request, queryset):
            if self.value():
                pk = parse_whole_number(self.value())
                return (
                    queryset.filter(**{f"{field_name}_id": pk})
                    if pk
                    else queryset.none()
                )
            return queryset

    SelectedObjectFilter.title = title
    SelectedObjectFilter.__name__ = f"Selected{field_name.title()}Filter"
    return SelectedObjectFilter


class _JoinedNestedObjects(NestedObjects):
    """Collect related rows with the row they point to, so listing them is one query."""

    def related_objects(self, related_model, related_fields, objs):
        rows = super().related_objects(related_model, related_fields, objs)
        return rows.select_related(*(field.name for field in related_fields))


class DeleteWithFactsMixin:
    """Let an owner be deleted together with its read-only facts.

    Ledger rows and behaviour events cannot be deleted on their own, but they belong
    to their product or customer and go with it; without this, their admin's "no
    delete" would make every product with a price history undeletable. The
    confirmation page lists them without a query per row.
    """

    def get_deleted_objects(self, objs, request):
        if not objs:
            return [], {}, set(), []
        collector = _JoinedNestedObjects(
            using=router.db_for_write(self.model), origin=objs
        )
        collector.collect(objs)
        facts = {
            model
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ReadOnlyAdminMixin)
        }
        perms_needed = set()

        def describe(obj):
            opts = obj._meta
            label = capfirst(opts.verbose_name)
            model_admin = self.admin_site._registry.get(obj.__class__)
            if model_admin is None:
                return f"{label}: {obj}"
            if obj.__class__ not in facts and not model_admin.has_delete_permission(
                request, obj
            ):
                perms_needed.add(opts.verbose_name)
            return format_html(
                '{}: <a href="{}">{}</a>', label, admin_change_url(obj), obj
            )

        to_delete = collector.nested(describe)
        protected = [describe(obj) for obj in collector.protected]
        counts = {
            model._meta.verbose_name_plural: len(rows)
            for model, rows in collector.model_objs.items()
        }
        return to_delete, counts, perms_needed, protected


class KnownObjectAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that shows an object already loaded instead of fetching it.

    Django's widget runs one query per form to label the chosen object, which is an
    N+1 on inlines of many rows; the formset below hands each widget its object.
    """

    known_object: models.Model | None = None

    def optgroups(self, name, value, attr=None):
        known = self.known_object
        empty = self.choices.field.empty_values
        chosen = {str(v) for v in value if str(v) not in empty}
        if known is None or chosen != {str(known.pk)}:
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance(known)
        options.append(self.create_option(name, known.pk, label, True, len(options)))
        return [(None, options, 0)]


class KnownObjectsFormSet(BaseInlineFormSet):
    """Hand each form's already-loaded related objects to its autocomplete widgets."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if form.instance.pk:
            for name, field in form.fields.items():
                widget = getattr(field.widget, "widget", field.widget)
                if isinstance(widget, KnownObjectAutocompleteSelect):
                    widget.known_object = getattr(form.instance, name, None)
        return form


class KnownObjectAutocompleteInlineMixin:
    """Autocomplete fields on an inline without one query per row.

    The inline's queryset must select_related() the autocomplete fields.
    """

    formset = KnownObjectsFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KnownObjectAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SpanDatesQuerySetMixin:
    """Answer the date hierarchy's "which periods?" from the first and last date.

    Django asks for the distinct years (months, days) of the whole list, a scan of
    every row; on millions of orders or events that is seconds. The first and last
    date come from an index, and every period between them is offered (one without
    rows simply shows an empty list).
    """

    def aggregate(self, *args, **kwargs):
        # The date hierarchy asks for the same first and last date twice per page.
        if args or kwargs.keys() != {"first", "last"}:
            return super().aggregate(*args, **kwargs)
        key = repr(sorted(kwargs.items()))
        cache = self.__dict__.setdefault("_span_bounds", {})
        if key not in cache:
            cache[key] = super().aggregate(**kwargs)
        return cache[key]

    def dates(self, field_name, kind, order="ASC"):
        return self._periods(field_name, kind, order, aware=False)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        return self._periods(field_name, kind, order, aware=True)

    def _periods(self, field_name, kind, order, *, aware):
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        first, last = bounds["first"], bounds["last"]
        if first is None:
            return []
        if aware:
            first, last = timezone.localtime(first), timezone.localtime(last)
            first = first.replace(hour=0, minute=0, second=0, microsecond=0)
        if kind == "year":
            first = first.replace(month=1, day=1)
        elif kind == "month":
            first = first.replace(day=1)
        end = last.date() if aware else last
        periods, current = [], first
        while (current.date() if aware else current) <= end:
            periods.append(current)
            current = _next_period(current, kind)
        return periods if order == "ASC" else periods[::-1]


def _next_period(start, kind: str):
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        december = start.month == 12
        return start.replace(
            year=start.year + december, month=1 if december else start.month + 1
        )
    return start + timedelta(days=1)


@functools.cache
def _span_dates_class(queryset_class: type) -> type:
    return type(
        f"SpanDates{queryset_class.__name__}",
        (SpanDatesQuerySetMixin, queryset_class),
        {},
    )


class SpanDatesChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        queryset.__class__ = _span_dates_class(queryset.__class__)
        return queryset


class FastDateHierarchyMixin:
    """Use a date hierarchy on a large table without scanning it on every page."""

    def get_changelist(self, request, **kwargs):
        return SpanDatesChangeList

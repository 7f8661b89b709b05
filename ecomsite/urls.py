"""Root URLconf: admin, REST API v1, OpenAPI schema and docs."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mlops.dashboard.views import admin_index

urlpatterns = [
    # The admin index with the dashboard; every other admin page is the site's own.
    path("admin/", admin.site.admin_view(admin_index), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("forecasts/", include("forecasting.urls")),
    path("", include("storefront.urls")),
    path("api/v1/", include("ecomsite.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"
    ),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

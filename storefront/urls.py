"""Public storefront pages (server-rendered)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/<str:sku>/", views.product_detail, name="product"),
    path("categories/<path:slug_path>/", views.category_detail, name="category"),
    path("for-you/", views.for_you, name="for-you"),
    path("basket/", views.basket_detail, name="basket"),
    path("basket/add/", views.basket_add, name="basket-add"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/done/<str:number>/", views.order_placed, name="order-placed"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="storefront/login.html",
            next_page="storefront:for-you",
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path(
        "accounts/logout/",
        auth_views.LogoutView.as_view(next_page="storefront:home"),
        name="logout",
    ),
]

"""The basket in the session, the checkout through `order_place`, the confirmation."""

import pytest

from catalog.models import StockMovement
from catalog.services import stock_record_movement
from orders.models import Order
from recommender.models import BehaviourEvent
from tests.storefront.shop_support import make_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return make_shop()


def add(client, sku: str, quantity=1, **kwargs):
    return client.post("/basket/add/", {"sku": sku, "quantity": quantity}, **kwargs)


def basket_of(client) -> dict[str, int]:
    return dict(client.session.get("basket", {}))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_adding_to_the_basket_shows_it_and_records_a_cart_add(client, shop):
    response = add(client, "MUG-BLUE", 2, follow=True)
    add(client, "POT-1")

    assert response.redirect_chain == [("/basket/", 302)]
    assert "Added Blue mug to your basket." in messages_of(response)
    page = client.get("/basket/")
    html = page.content.decode()
    assert "Blue mug" in html and "Round teapot" in html
    assert "46.00 EUR" in html  # 2 × 8.00 + 30.00
    assert '<span class="badge">3<' in html
    event = BehaviourEvent.objects.get(product=shop.blue_mug)
    assert (event.kind, event.quantity, event.customer) == ("add_to_cart", 2, None)
    assert event.session_key == client.session.session_key


def test_no_more_than_the_stock_goes_in_the_basket(client, shop):
    add(client, "MUG-BLUE", 4)
    response = add(client, "MUG-BLUE", 4, follow=True)

    assert basket_of(client) == {str(shop.blue_mug.pk): 5}
    assert "Only 5 of Blue mug in stock: your basket holds 5." in messages_of(response)
    assert [e.quantity for e in BehaviourEvent.objects.order_by("id")] == [4, 1]


def test_out_of_stock_and_unknown_products_cannot_be_added(client, shop):
    response = add(client, "MUG-RED", follow=True)

    assert response.redirect_chain == [("/products/MUG-RED/", 302)]
    assert "Sorry, Red mug is out of stock." in messages_of(response)
    assert basket_of(client) == {}
    assert add(client, "NOPE").status_code == 404
    assert add(client, "MUG-BLUE", 0, follow=True).redirect_chain[-1][0] == (
        "/products/MUG-BLUE/"
    )
    assert client.get("/basket/add/").status_code == 405
    assert not client.get("/products/MUG-RED/").context["product"].stock_on_hand


def test_staff_cart_adds_are_not_behaviour(client, shop, staff):
    client.force_login(staff)
    add(client, "MUG-BLUE")

    assert basket_of(client) == {str(shop.blue_mug.pk): 1}
    assert not BehaviourEvent.objects.exists()


def test_update_and_remove_lines(client, shop):
    add(client, "MUG-BLUE")
    add(client, "POT-1")
    mug, pot = shop.blue_mug.pk, shop.teapot.pk

    client.post("/basket/", {f"quantity-{mug}": "3", f"quantity-{pot}": "2"})
    assert basket_of(client) == {str(mug): 3, str(pot): 2}

    client.post("/basket/", {f"quantity-{mug}": "0", f"quantity-{pot}": "2"})
    assert basket_of(client) == {str(pot): 2}

    bad = client.post("/basket/", {f"quantity-{pot}": "two"}, follow=True)
    assert "Quantities must be whole numbers; 0 removes a line." in messages_of(bad)
    assert basket_of(client) == {str(pot): 2}

    client.post("/basket/", {"remove": str(pot), f"quantity-{pot}": "5"})
    assert basket_of(client) == {}
    assert "Your basket is empty." in client.get("/basket/").content.decode()


def test_the_basket_drops_deleted_products_and_flags_shortages(client, shop):
    add(client, "MUG-BLUE", 3)
    add(client, "SPADE-1")
    shop.spade.stock_movements.all().delete()
    stock_record_movement(
        product=shop.blue_mug, kind=StockMovement.Kind.ADJUSTMENT, quantity=-4
    )
    shop.spade.delete()

    html = client.get("/basket/").content.decode()

    assert "Only 1 in stock" in html and "/products/SPADE-1/" not in html
    assert basket_of(client) == {str(shop.blue_mug.pk): 3}


def test_checkout_asks_to_sign_in_and_keeps_the_basket(client, shop, customer):
    add(client, "MUG-BLUE", 2)

    response = client.get("/checkout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout/"
    signed_in = client.post(
        "/accounts/login/?next=/checkout/",
        {
            "username": customer.username,
            "password": "correct-horse-battery",
            "next": "/checkout/",
        },
        follow=True,
    )

    assert signed_in.redirect_chain[-1][0] == "/checkout/"
    html = signed_in.content.decode()
    assert "<h1>Checkout</h1>" in html and "Blue mug" in html and "16.00 EUR" in html


def test_placing_the_order(client, shop, customer):
    client.force_login(customer)
    add(client, "MUG-BLUE", 2)
    add(client, "POT-1")

    response = client.post("/checkout/", follow=True)

    order = Order.objects.get()
    assert response.redirect_chain == [(f"/checkout/done/{order.number}/", 302)]
    html = response.content.decode()
    assert "Thank you for your order" in html and order.number in html
    assert "46.00 EUR" in html
    assert (order.customer, order.source, order.country) == (
        customer,
        "shop",
        "United Kingdom",
    )
    assert sorted(order.lines.values_list("product__sku", "quantity")) == [
        ("MUG-BLUE", 2),
        ("POT-1", 1),
    ]
    shop.blue_mug.refresh_from_db()
    assert shop.blue_mug.stock_on_hand == 3
    assert basket_of(client) == {}
    assert client.post("/checkout/").url == "/basket/"  # a second submit: no order
    assert Order.objects.count() == 1


def test_short_stock_at_checkout_says_so_and_writes_nothing(client, shop, customer):
    client.force_login(customer)
    add(client, "POT-1")
    add(client, "MUG-BLUE", 4)
    stock_record_movement(
        product=shop.blue_mug, kind=StockMovement.Kind.SALE, quantity=-3
    )  # someone else bought three meanwhile

    response = client.post("/checkout/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Sorry, only 2 of Blue mug left in stock (your basket asks for 4)." in html
    assert "Nothing was ordered." in html and 'role="alert"' in html
    assert not Order.objects.exists()
    assert not BehaviourEvent.objects.filter(kind="purchase").exists()
    shop.blue_mug.refresh_from_db()
    assert shop.blue_mug.stock_on_hand == 2
    assert basket_of(client) == {str(shop.teapot.pk): 1, str(shop.blue_mug.pk): 4}


def test_a_product_withdrawn_meanwhile_is_named(client, shop, customer):
    client.force_login(customer)
    add(client, "POT-1")
    shop.teapot.is_active = False
    shop.teapot.save()

    html = client.post("/checkout/").content.decode()

    assert "Not for sale: POT-1. Nothing was ordered." in html
    assert "No longer for sale" in html
    assert not Order.objects.exists()


def test_an_empty_basket_has_nothing_to_check_out(client, customer):
    client.force_login(customer)

    response = client.get("/checkout/", follow=True)

    assert response.redirect_chain == [("/basket/", 302)]
    assert "Your basket is empty." in messages_of(response)


def test_a_product_sold_out_meanwhile_is_named(client, shop, customer):
    client.force_login(customer)
    add(client, "SPADE-1")
    stock_record_movement(product=shop.spade, kind=StockMovement.Kind.SALE, quantity=-3)

    html = client.post("/checkout/").content.decode()

    assert "Sorry, Spade sold out meanwhile. Remove it from your basket" in html
    assert not Order.objects.exists()

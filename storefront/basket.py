"""The visitor's basket, kept in their session: product id → quantity."""

from dataclasses import dataclass
from decimal import Decimal

from catalog.models import Product
from orders.services import CartLine
from recommender.selectors import first_image_name

SESSION_KEY = "basket"
MAX_QUANTITY = 99  # per product and line


@dataclass
class BasketLine:
    """One product of the basket as the basket page shows it."""

    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def for_sale(self) -> bool:
        return self.product.is_active

    @property
    def available(self) -> int | None:
        """Units in stock, or None when the product's stock is not tracked."""
        return (
            max(self.product.stock_on_hand, 0) if self.product.stock_tracked else None
        )

    @property
    def short(self) -> bool:
        return self.available is not None and self.quantity > self.available


class Basket:
    """Read and change the basket of a session; every change marks it to be saved."""

    def __init__(self, session):
        self.session = session
        raw = session.get(SESSION_KEY) or {}
        self.items: dict[int, int] = {
            int(pk): int(quantity) for pk, quantity in raw.items() if int(quantity) > 0
        }

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def count(self) -> int:
        """Return the number of units in the basket."""
        return sum(self.items.values())

    def quantity_of(self, product_id: int) -> int:
        return self.items.get(product_id, 0)

    def add(self, product_id: int, quantity: int) -> int:
        """Add units of a product (at most MAX_QUANTITY in all); return the new total."""
        total = min(self.quantity_of(product_id) + quantity, MAX_QUANTITY)
        return self.set(product_id, total)

    def set(self, product_id: int, quantity: int) -> int:
        """Set a product's quantity; zero or less removes it. Return the quantity."""
        quantity = min(quantity, MAX_QUANTITY)
        if quantity > 0:
            self.items[product_id] = quantity
        else:
            self.items.pop(product_id, None)
        self._save()
        return max(quantity, 0)

    def remove(self, product_id: int) -> None:
        self.set(product_id, 0)

    def clear(self) -> None:
        self.items = {}
        self._save()

    def cart_lines(self) -> list[CartLine]:
        return [CartLine(pk, quantity) for pk, quantity in sorted(self.items.items())]

    def lines(self) -> list[BasketLine]:
        """Return the basket's lines with their products (one query), in the order
        they were added; products deleted since are dropped from the basket."""
        products = (
            Product.objects.select_related("category")
            .annotate(image_name=first_image_name("pk"))
            .in_bulk(list(self.items))
            if self.items
            else {}
        )
        gone = [pk for pk in self.items if pk not in products]
        for pk in gone:
            self.items.pop(pk)
        if gone:
            self._save()
        return [BasketLine(products[pk], qty) for pk, qty in self.items.items()]

    def _save(self) -> None:
        self.session[SESSION_KEY] = {
            str(pk): quantity for pk, quantity in self.items.items()
        }
        self.session.modified = True


def basket_total(lines: list[BasketLine]) -> Decimal:
    return sum((line.line_total for line in lines), Decimal("0"))

"""The product page's charts in a real browser, for a sparse product, a dense one with
a promotion and one with a stock-out: each drawn truthfully, no two labels over each
other, each with its data table. Screenshots go to var/screenshots/charts/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import PriceChange
from forecasting.models import ForecastPoint, SalesRecord
from tests.browser.conftest import SCREENSHOTS, sign_in
from tests.factories import PriceChangeFactory, ProductFactory, StaffFactory
from tests.forecasting.serving_support import serve_forecast

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"

# Every pair of <text> boxes of each chart that intersect (more than a pixel).
OVERLAPS = """() => [...document.querySelectorAll("svg.forecast-chart")].map(svg => {
  const boxes = [...svg.querySelectorAll("text")]
    .filter(t => t.textContent.trim())
    .map(t => [t.textContent, t.getBoundingClientRect()]);
  const hits = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, p] = boxes[i], [b, q] = boxes[j];
      const dx = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const dy = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (dx > 1 && dy > 1) hits.push(a + " / " + b);
    }
  return hits;
})"""


def daily(product, units_by_day: dict[int, float], *, stockouts=(), price=None):
    """Record sales `days ago → units` (only days with a sale or a stock-out)."""
    today = timezone.localdate()
    SalesRecord.objects.bulk_create(
        SalesRecord(
            product=product,
            period_start=today - timedelta(days=ago),
            frequency="D",
            units=Decimal(str(units)),
            price=price(ago) if price else product.price,
            stockout=ago in stockouts,
        )
        for ago, units in units_by_day.items()
    )


def price_change(product, days_ago: int, price: str, source=PriceChange.Source.MANUAL):
    PriceChangeFactory(
        product=product,
        price=Decimal(price),
        source=source,
        effective_at=timezone.now() - timedelta(days=days_ago),
    )


def serve(product, p50: float, price: float) -> None:
    serve_forecast(product, [p50] * 28, spread=p50 / 2)
    serve_forecast(product, [price] * 28, kind=ForecastPoint.Kind.PRICE, spread=0.5)


def open_page(page, product, name: str):
    page.goto(f"/forecasts/products/{product.sku}/")
    expect(page.locator("svg.forecast-chart").first).to_be_visible()
    folder = SCREENSHOTS / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert page.evaluate(OVERLAPS) == [[], [], []]  # demand, stock, price
    assert page.locator("details.chart-data").count() == 3  # a table per chart
    return page.locator("svg.forecast-chart").all()


@pytest.fixture
def signed_in(page):
    staff = StaffFactory(password=PASSWORD)
    sign_in(
        page,
        path="/admin/login/?next=/admin/",
        username=staff.username,
        password=PASSWORD,
    )
    return page


def test_a_sparse_product_is_drawn_as_weekly_totals_up_to_the_forecast(signed_in):
    # 2 units on three days, the last 70 days ago: nothing sold in the last 60 days
    product = ProductFactory(sku="SPARSE-1", stock=12)
    price_change(product, 400, "19.99")
    daily(product, {150: 2, 125: 2, 70: 2})
    serve(product, 0.05, 19.99)

    demand, _, price = open_page(signed_in, product, "sparse")

    expect(demand.locator(".chart-history-bar")).to_have_count(1)  # one week sold
    assert not demand.locator(".chart-history").count()  # no line joining the sales
    caption = signed_in.locator("details.chart-data caption").first
    expect(caption).to_contain_text("Weekly totals: the product sold on 1 of 84 days")
    expect(demand.locator("text.chart-unit")).to_have_text("units per week")
    # the history's last week ends where the forecast starts, in the table too
    rows = signed_in.locator("details.chart-data").first.locator("tbody tr")
    today = timezone.localdate()
    expect(rows.nth(11)).to_contain_text((today - timedelta(days=7)).isoformat())
    expect(rows.nth(12)).to_contain_text(today.isoformat())
    # a flat price: one horizontal step from the window's start to the forecast
    (line,) = price.locator(".chart-history").all()
    points = line.get_attribute("points").split()
    assert len({p.split(",")[1] for p in points}) == 1
    assert len(points) == 2 * 84


def test_a_promotion_is_a_step_down_and_back_and_sales_are_daily_bars(signed_in):
    product = ProductFactory(sku="PROMO-1", stock=500)
    price_change(product, 200, "19.99")
    price_change(product, 20, "14.99", PriceChange.Source.PROMOTION)
    price_change(product, 13, "19.99", PriceChange.Source.PROMOTION)

    def on_promotion(ago: int) -> bool:
        return 13 < ago <= 20

    daily(
        product,
        {ago: (9 if on_promotion(ago) else 3 + ago % 3) for ago in range(1, 120)},
        price=lambda ago: Decimal("14.99" if on_promotion(ago) else "19.99"),
    )
    serve(product, 4.0, 19.99)

    demand, _, price = open_page(signed_in, product, "promotion")

    expect(demand.locator(".chart-history-bar")).to_have_count(84)  # 3 horizons
    (line,) = price.locator(".chart-history").all()
    ys = [float(p.split(",")[1]) for p in line.get_attribute("points").split()]
    changes = [b for a, b in zip(ys, ys[1:], strict=False) if a != b]
    assert len(changes) == 2 and changes[0] > ys[0]  # down (lower on screen), back up
    desc = price.first.locator(":scope > desc").text_content()
    assert "between 14.99 and 19.99 EUR" in desc


def test_a_stock_out_is_shaded_and_its_zero_days_drawn(signed_in):
    product = ProductFactory(sku="OUT-1", stock=0)
    price_change(product, 200, "19.99")
    units = dict.fromkeys(range(1, 60), 4)
    units.update(dict.fromkeys(range(8, 13), 0))  # out of stock for five days
    daily(product, units, stockouts=range(8, 13))
    serve(product, 4.0, 19.99)

    demand, stock, _ = open_page(signed_in, product, "stockout")

    expect(demand.locator(".chart-stockout")).to_have_count(5)
    expect(demand.locator(".chart-history-bar")).to_have_count(
        59 - 5
    )  # from the first sale
    legend = " ".join(demand.locator("text").all_text_contents())
    assert "Stock-out (censored demand)" in legend
    expect(stock.locator(":scope > title")).to_have_text("Projected stock of OUT-1")

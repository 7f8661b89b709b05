"""The hidden truth of a simulated store, as a JSON-ready dict (no Django)."""

from datetime import date, timedelta

import numpy as np

from .simulation import StoreSimulation
from .world import NEVER, PRICE_PROMOTION, SEGMENTS

TOP_AFFINITIES = 5


def hidden_truth(simulation: StoreSimulation, *, start_date: date) -> dict:
    """Return what generated the store, for evaluations of what models recover.

    Days are indices from `start_date` (day 0); calendar dates are given where a
    reader would look for them. Customer tastes keep the top affinities only, so the
    file stays a few megabytes at 100,000 customers.
    """
    w = simulation.world
    paths = w.leaf_paths
    new_arrivals = w.new_arrivals

    def day_or_none(day: int) -> int | None:
        return None if day >= NEVER else int(day)

    categories = [
        {
            "index": k,
            "path": paths[k],
            "top": w.top_names[w.leaf_top[k]],
            "elasticity": round(float(w.elasticity[k]), 4),
            "promotion_lift": round(float(w.promo_lift[k]), 4),
            "yearly_amplitude": round(float(w.season_amplitude[k]), 4),
            "yearly_peak_day": round(float(w.season_peak[k]), 2),
            "trend_per_year": round(float(w.category_trend[k]), 4),
            "mean_quantity": float(w.mean_quantity[k]),
            "lead_time_days": int(w.leaf_lead_time[k]),
            "image_recipe": w.recipes[k],
        }
        for k in range(len(paths))
    ]
    top = np.argsort(-w.affinity, axis=1)[:, :TOP_AFFINITIES]
    customers = [
        {
            "username": w.usernames[c],
            "segment": SEGMENTS[w.segment[c]],
            "join_day": int(w.join_day[c]),
            "churn_day": day_or_none(int(w.churn_day[c])),
            "visit_rate": round(float(w.visit_rate[c]), 5),
            "price_sensitivity": round(float(w.price_sensitivity[c]), 4),
            "top_affinities": {
                paths[k]: round(float(w.affinity[c, k]), 4) for k in top[c].tolist()
            },
        }
        for c in range(len(w.usernames))
    ]
    products = [
        {
            "sku": w.sku[p],
            "category": paths[w.product_leaf[p]],
            "new_arrival_without_category": bool(new_arrivals[p]),
            "base_price": int(w.base_price[p]) / 100,
            "popularity": round(float(w.quality[p]), 4),
            "launch_day": int(w.launch_day[p]),
            "retire_day": day_or_none(int(w.retire_day[p])),
            "lead_time_days": int(w.lead_time[p]),
            "lost_units": int(simulation.lost_units[p]),
        }
        for p in range(len(w.sku))
    ]
    plan = w.price_events
    promotions = [
        {"sku": w.sku[p], "day": int(d), "price": int(price) / 100}
        for d, _, p, source, price, _ in plan.tolist()
        if source == PRICE_PROMOTION
    ]
    stockouts = [
        {"sku": w.sku[s.product], "first_day": s.first_day, "last_day": s.last_day}
        for s in simulation.stockouts
    ]
    weekday0 = start_date.strftime("%A")
    return {
        "version": 1,
        "seed": w.spec.seed,
        "sizes": {
            "customers": w.spec.customers,
            "products": w.spec.products,
            "days": w.spec.days,
        },
        "start_date": start_date.isoformat(),
        "end_date": (start_date + timedelta(days=w.spec.days - 1)).isoformat(),
        "counts": dict(simulation.counts),
        "model": {
            "visit": (
                "daily Bernoulli(visit_rate x lifecycle x weekly x yearly x trend)"
            ),
            "category_choice": (
                "affinity x category season x (1 - m + m x n_categories x "
                "transition[previous]); m = 0.3 after the last purchase, 0.6 "
                "within a session"
            ),
            "product_choice": (
                "softmax(log popularity + log(promotion_lift) x on_promotion - "
                "price_sensitivity x log(base_price / category median base_price))"
            ),
            "elasticity": (
                "own-price elasticity of demand: units ~ (price / base_price)^"
                "elasticity outside promotions (price_sensitivity has mean 1); "
                "promotions add promotion_lift on views and x1.25 on carts"
            ),
            "conversion": (
                "cart = 0.22 x (price / base_price)^(elasticity x price_sensitivity)"
                " x 1.25 on promotion; checkout = 0.65; no sale without stock"
            ),
        },
        "seasonality": {
            "weekly_profile_by_day_index_mod_7": [round(float(v), 4) for v in w.weekly],
            "weekday_of_day_0": weekday0,
            "weekly_profile_by_weekday": {
                (start_date + timedelta(days=i)).strftime("%A"): round(
                    float(w.weekly[i]), 4
                )
                for i in range(7)
            },
            "yearly_amplitude": round(w.yearly_amplitude, 4),
            "yearly_peak_day": round(w.yearly_peak, 2),
            "trend_per_year": round(w.trend_per_year, 4),
        },
        "categories": categories,
        "transition_matrix": {
            "categories": paths,
            "rows": [[round(float(v), 5) for v in row] for row in w.transition],
        },
        "customers": customers,
        "products": products,
        "promotions": promotions,
        "stockouts": stockouts,
    }

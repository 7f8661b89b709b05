"""The demo shop's category tree and the words its product names are made of.

Each leaf lists nouns, variants (sizes, counts), a typical price range in the shop's
currency and how many units a typical order line holds. No Django imports.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LeafSpec:
    name: str
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    price_range: tuple[float, float]
    mean_quantity: float


@dataclass(frozen=True)
class TopSpec:
    name: str
    materials: tuple[str, ...]
    elasticity_range: tuple[float, float]
    leaves: tuple[LeafSpec, ...]


def _leaf(name, nouns, variants, low, high, quantity=1.2) -> LeafSpec:
    return LeafSpec(name, tuple(nouns), tuple(variants), (low, high), quantity)


TREE: tuple[TopSpec, ...] = (
    TopSpec(
        "Kitchen",
        ("Ceramic", "Enamel", "Stoneware", "Bamboo", "Steel"),
        (-1.8, -1.2),
        (
            _leaf(
                "Mugs",
                ["Mug", "Cup", "Beaker", "Tumbler"],
                ["250 ml", "350 ml", "450 ml"],
                6,
                22,
                1.6,
            ),
            _leaf(
                "Cookware",
                ["Frying Pan", "Saucepan", "Casserole", "Wok"],
                ["20 cm", "24 cm", "28 cm"],
                25,
                140,
            ),
            _leaf(
                "Knives",
                ["Chef Knife", "Paring Knife", "Bread Knife", "Knife Set"],
                ["15 cm", "20 cm", "3-piece"],
                15,
                120,
            ),
            _leaf(
                "Storage Jars",
                ["Storage Jar", "Canister", "Food Box", "Spice Jar"],
                ["0.5 l", "1 l", "set of 3"],
                5,
                35,
                1.8,
            ),
        ),
    ),
    TopSpec(
        "Home Decor",
        ("Linen", "Velvet", "Glass", "Oak", "Rattan"),
        (-2.2, -1.5),
        (
            _leaf(
                "Candles",
                ["Candle", "Pillar Candle", "Tea Lights", "Scented Candle"],
                ["small", "large", "12-pack"],
                4,
                30,
                1.7,
            ),
            _leaf(
                "Vases",
                ["Vase", "Bud Vase", "Jug", "Bottle Vase"],
                ["15 cm", "25 cm", "40 cm"],
                10,
                70,
            ),
            _leaf(
                "Cushions",
                ["Cushion", "Throw Pillow", "Bolster", "Floor Cushion"],
                ["40 x 40", "50 x 50", "60 x 30"],
                12,
                60,
            ),
            _leaf(
                "Wall Art",
                ["Print", "Poster", "Canvas", "Wall Mirror"],
                ["A4", "A3", "50 x 70"],
                15,
                150,
            ),
        ),
    ),
    TopSpec(
        "Garden",
        ("Terracotta", "Galvanised", "Cedar", "Recycled", "Solar"),
        (-1.9, -1.3),
        (
            _leaf(
                "Planters",
                ["Planter", "Plant Pot", "Window Box", "Hanging Basket"],
                ["12 cm", "20 cm", "35 cm"],
                6,
                60,
                1.6,
            ),
            _leaf(
                "Garden Tools",
                ["Trowel", "Pruner", "Hand Fork", "Watering Can"],
                ["compact", "standard", "pro"],
                8,
                55,
            ),
            _leaf(
                "Seeds",
                ["Tomato Seeds", "Basil Seeds", "Wildflower Mix", "Sunflower Seeds"],
                ["1 pack", "3 packs", "bulk"],
                2,
                9,
                2.4,
            ),
            _leaf(
                "Outdoor Lighting",
                ["String Lights", "Lantern", "Path Light", "Spotlight"],
                ["5 m", "10 m", "4-pack"],
                12,
                90,
            ),
        ),
    ),
    TopSpec(
        "Electronics",
        ("Wireless", "Compact", "Pro", "Smart", "Portable"),
        (-2.8, -2.0),
        (
            _leaf(
                "Headphones",
                ["Headphones", "Earbuds", "Headset", "Earphones"],
                ["black", "white", "blue"],
                20,
                300,
            ),
            _leaf(
                "Chargers",
                ["Charger", "Power Bank", "USB-C Cable", "Charging Pad"],
                ["20 W", "65 W", "10,000 mAh"],
                8,
                70,
                1.4,
            ),
            _leaf(
                "Speakers",
                ["Speaker", "Soundbar", "Bluetooth Speaker", "Radio"],
                ["mini", "10 W", "40 W"],
                25,
                250,
            ),
            _leaf(
                "Smart Home",
                ["Smart Plug", "Smart Bulb", "Door Sensor", "Thermostat"],
                ["single", "2-pack", "4-pack"],
                12,
                180,
            ),
        ),
    ),
    TopSpec(
        "Fashion",
        ("Cotton", "Wool", "Leather", "Organic", "Recycled"),
        (-2.5, -1.7),
        (
            _leaf(
                "T-Shirts",
                ["T-Shirt", "Tee", "Long Sleeve Top", "Polo"],
                ["S", "M", "L", "XL"],
                10,
                45,
                1.4,
            ),
            _leaf(
                "Scarves",
                ["Scarf", "Snood", "Shawl", "Bandana"],
                ["one size", "long", "square"],
                10,
                70,
            ),
            _leaf(
                "Bags",
                ["Tote Bag", "Backpack", "Crossbody Bag", "Weekender"],
                ["small", "medium", "large"],
                15,
                160,
            ),
            _leaf(
                "Hats",
                ["Beanie", "Cap", "Bucket Hat", "Fedora"],
                ["S/M", "L/XL", "one size"],
                10,
                60,
            ),
        ),
    ),
    TopSpec(
        "Sports",
        ("Lightweight", "Performance", "Trail", "Eco", "Grip"),
        (-2.1, -1.4),
        (
            _leaf(
                "Yoga",
                ["Yoga Mat", "Yoga Block", "Yoga Strap", "Bolster"],
                ["4 mm", "6 mm", "set"],
                8,
                80,
            ),
            _leaf(
                "Running",
                ["Running Socks", "Water Bottle", "Armband", "Running Belt"],
                ["S", "M", "L"],
                6,
                45,
                1.5,
            ),
            _leaf(
                "Cycling",
                ["Bike Light", "Bike Lock", "Cycling Gloves", "Saddle Bag"],
                ["front", "rear", "set"],
                10,
                90,
            ),
            _leaf(
                "Camping",
                ["Tent", "Sleeping Bag", "Camping Stove", "Head Torch"],
                ["1-person", "2-person", "4-person"],
                15,
                250,
            ),
        ),
    ),
    TopSpec(
        "Beauty",
        ("Natural", "Vegan", "Hydrating", "Botanical", "Gentle"),
        (-1.6, -1.0),
        (
            _leaf(
                "Skincare",
                ["Face Cream", "Serum", "Cleanser", "Face Mask"],
                ["30 ml", "50 ml", "100 ml"],
                8,
                60,
                1.3,
            ),
            _leaf(
                "Fragrance",
                ["Eau de Parfum", "Body Mist", "Perfume Oil", "Eau de Toilette"],
                ["10 ml", "50 ml", "100 ml"],
                15,
                110,
            ),
            _leaf(
                "Hair Care",
                ["Shampoo", "Conditioner", "Hair Oil", "Hair Mask"],
                ["250 ml", "500 ml", "1 l"],
                5,
                35,
                1.5,
            ),
            _leaf(
                "Bath",
                ["Bath Salts", "Bath Bomb", "Shower Gel", "Soap Bar"],
                ["single", "3-pack", "gift set"],
                3,
                30,
                1.9,
            ),
        ),
    ),
    TopSpec(
        "Toys",
        ("Wooden", "Classic", "Magnetic", "Rainbow", "Mini"),
        (-2.0, -1.3),
        (
            _leaf(
                "Puzzles",
                ["Jigsaw Puzzle", "3D Puzzle", "Floor Puzzle", "Brain Teaser"],
                ["100 pieces", "500 pieces", "1000 pieces"],
                8,
                40,
            ),
            _leaf(
                "Plush Toys",
                ["Teddy Bear", "Plush Rabbit", "Plush Whale", "Plush Fox"],
                ["small", "medium", "giant"],
                8,
                50,
            ),
            _leaf(
                "Building Sets",
                ["Building Set", "Block Set", "Marble Run", "Construction Kit"],
                ["starter", "100 parts", "500 parts"],
                15,
                120,
            ),
            _leaf(
                "Board Games",
                ["Board Game", "Card Game", "Dice Game", "Strategy Game"],
                ["2-4 players", "family", "party"],
                12,
                60,
            ),
        ),
    ),
    TopSpec(
        "Stationery",
        ("Recycled", "Dotted", "Classic", "Pastel", "Kraft"),
        (-1.7, -1.1),
        (
            _leaf(
                "Notebooks",
                ["Notebook", "Journal", "Planner", "Sketchbook"],
                ["A5", "A4", "pocket"],
                4,
                30,
                1.6,
            ),
            _leaf(
                "Pens",
                ["Fineliner", "Fountain Pen", "Gel Pen", "Highlighter"],
                ["single", "5-pack", "12-pack"],
                2,
                45,
                2.0,
            ),
            _leaf(
                "Art Supplies",
                ["Watercolour Set", "Brush Set", "Coloured Pencils", "Acrylic Paint"],
                ["12 colours", "24 colours", "48 colours"],
                6,
                60,
            ),
            _leaf(
                "Desk Organisers",
                ["Desk Tidy", "Letter Tray", "Pen Pot", "Drawer Set"],
                ["small", "large", "2-tier"],
                8,
                50,
            ),
        ),
    ),
    TopSpec(
        "Grocery",
        ("Organic", "Fairtrade", "Artisan", "Single Origin", "Small Batch"),
        (-1.2, -0.7),
        (
            _leaf(
                "Coffee",
                ["Coffee Beans", "Ground Coffee", "Espresso Blend", "Coffee Pods"],
                ["250 g", "500 g", "1 kg"],
                5,
                30,
                1.8,
            ),
            _leaf(
                "Tea",
                ["Green Tea", "Black Tea", "Herbal Tea", "Chai"],
                ["20 bags", "100 g", "250 g"],
                3,
                20,
                1.8,
            ),
            _leaf(
                "Chocolate",
                ["Dark Chocolate", "Milk Chocolate", "Truffles", "Hot Chocolate"],
                ["100 g", "200 g", "gift box"],
                2,
                25,
                2.2,
            ),
            _leaf(
                "Spices",
                ["Smoked Paprika", "Cumin", "Curry Blend", "Sea Salt"],
                ["50 g", "100 g", "refill"],
                2,
                12,
                2.0,
            ),
        ),
    ),
)

BRANDS = (
    "Aurora",
    "Nordvik",
    "Maple & Co",
    "Solstice",
    "Kestrel",
    "Halden",
    "Lumo",
    "Verde",
    "Atlas",
    "Juniper",
    "Oakridge",
    "Sable",
    "Tidal",
    "Ember",
    "Fennel",
    "Brightwater",
    "Quill",
    "Marlow",
    "Cobalt",
    "Willow",
    "Ostara",
    "Pebble",
    "Harbour",
    "Zephyr",
)
FIRST_NAMES = (
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Leon",
    "Sofia",
    "Finn",
    "Hannah",
    "Elias",
    "Lena",
    "Jonas",
    "Clara",
    "Paul",
    "Marie",
    "Ben",
    "Ella",
    "Max",
    "Anna",
    "Tom",
    "Julia",
    "Luca",
    "Nora",
    "Felix",
    "Ida",
    "Oscar",
    "Alice",
    "Hugo",
)
LAST_NAMES = (
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Jansen",
    "Novak",
    "Kowalski",
    "Andersen",
    "Silva",
    "Murphy",
    "Schmidt",
    "Martin",
    "Bianchi",
    "Lindqvist",
    "Costa",
    "Weber",
    "Moreau",
    "Brown",
    "Fischer",
    "Horvat",
    "Nieminen",
    "Larsen",
    "Petrov",
)
PLACES = (
    ("Germany", "Berlin"),
    ("Germany", "Munich"),
    ("France", "Paris"),
    ("France", "Lyon"),
    ("Netherlands", "Amsterdam"),
    ("Spain", "Madrid"),
    ("Italy", "Milan"),
    ("Austria", "Vienna"),
    ("Belgium", "Brussels"),
    ("Ireland", "Dublin"),
    ("United Kingdom", "London"),
    ("United Kingdom", "Manchester"),
    ("Denmark", "Copenhagen"),
    ("Sweden", "Stockholm"),
    ("Portugal", "Lisbon"),
    ("Poland", "Warsaw"),
)


def leaves() -> list[tuple[TopSpec, LeafSpec]]:
    """Return every (top, leaf) pair of the tree in a fixed order."""
    return [(top, leaf) for top in TREE for leaf in top.leaves]


def product_name(rng: np.random.Generator, top: TopSpec, leaf: LeafSpec) -> str:
    """Return a plausible product name such as `Aurora Ceramic Mug 350 ml`."""
    brand = BRANDS[rng.integers(len(BRANDS))]
    noun = leaf.nouns[rng.integers(len(leaf.nouns))]
    variant = leaf.variants[rng.integers(len(leaf.variants))]
    if rng.random() < 0.7:
        material = top.materials[rng.integers(len(top.materials))]
        return f"{brand} {material} {noun} {variant}"
    return f"{brand} {noun} {variant}"


def search_query(rng: np.random.Generator, leaf: LeafSpec) -> str:
    """Return what a shopper looking for this leaf might type."""
    noun = leaf.nouns[rng.integers(len(leaf.nouns))].lower()
    return noun if rng.random() < 0.6 else f"{noun} {leaf.variants[0]}"

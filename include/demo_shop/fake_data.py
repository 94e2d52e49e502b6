"""Word pools and the deliberately awkward values the demo data mixes in.

Pools are plain tuples so generation stays fast and reproducible. Hard cases are values a
careless migration loses or rejects: 4-byte UTF-8, accents, quotes and backslashes, control
characters, names that only differ by case or accent (distinct in SQLite's binary
collation, equal in MySQL's default *_ci collations).
"""
from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Ben", "Chloé", "David", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Julia",
    "Kenji", "Léa", "Mateo", "Nadia", "Olga", "Pablo", "Quentin", "Rosa", "Søren", "Tomás",
    "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoë", "Łukasz", "Ines", "Björn", "Amélie",
    "Noah", "Emma", "Liam", "Mia", "Lucas", "Sofia", "Omar", "Aisha", "Raj", "Mei",
)
LAST_NAMES = (
    "Smith", "Müller", "García", "Nguyen", "Kowalski", "Rossi", "Dubois", "Jensen", "Silva",
    "O'Brien", "Novák", "Yılmaz", "Andersson", "Fernández", "Schäfer", "Ivanova", "Lefèvre",
    "Brown", "Wilson", "Tanaka", "Kim", "Patel", "Cohen", "Horváth", "Ólafsson", "Dvořák",
    "Costa", "Martin", "Bernard", "Weiß",
)
# (username, first_name, last_name): pairs equal under case- or accent-insensitive collations.
COLLIDING_USERS = (
    ("Anna", "Anna", "Berg"),
    ("anna", "anna", ""),
    ("JOHN.SMITH", "John", "Smith"),
    ("john.smith", "John", "Smith"),
    ("José", "José", "Pérez"),
    ("Jose", "Jose", "Perez"),
    ("Straße", "Max", "Straße"),
    ("strasse", "Max", "Strasse"),
)
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "shop.example", "exämple.de")

CATEGORY_ROOTS = (
    "Home & Garden", "Electronics", "Books", "Café & Tea", "Toys", "Sports", "Fashion",
    "Beauty", "Grocery", "Music", "Office", "Pets",
)
CATEGORY_CHILDREN = (
    "Accessories", "Classics", "Outdoor", "Kids", "Vintage", "Premium", "Basics", "Gifts",
    "Spares", "Eco", "Limited", "Refurbished",
)

ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Smart", "Vintage", "Rustic", "Modern", "Tiny",
    "Heavy-duty", "Wireless", "Organic", "Handmade", "Foldable", "Premium", "Retro", "Silent",
    "Ultra", "Nordic", "Portable",
)
NOUNS = (
    "Lamp", "Kettle", "Backpack", "Notebook", "Chair", "Mug", "Speaker", "Jacket", "Teapot",
    "Blender", "Puzzle", "Ruler", "Scarf", "Clock", "Tent", "Bottle", "Pan", "Desk", "Helmet",
    "Candle", "Headphones", "Vase", "Wallet", "Umbrella",
)
# Names a shop really gets, one in a few hundred products.
ODD_PRODUCT_NAMES = (
    "Crème brûlée set", "Jalapeño sauce 🌶️", "Party pack 🎉🎈", "抹茶 matcha tin", "Çay glass ×6",
    '12" vinyl record', "Path C:\\Temp poster", "Tab\tseparated sign", "Naïve art print",
    "Ünïcödé mug", "Smörgåsbord plate", "Pokémon cards", "Zoë's 😀 stickers", "  padded name  ",
    "Apostrophe's mug", "100% cotton tee", "Ⅻ roman clock", "Ελληνικό μέλι", "Русский чай",
    "עברית book", "عربي coffee", "🙂", "Ω-3 capsules", "Dash – en — em",
)
COLORS = ("red", "blue", "green", "black", "white", "yellow", "grey", "purple", "orange", "teal")
MATERIALS = ("cotton", "steel", "oak", "glass", "ceramic", "bamboo", "wool", "leather", "paper")
ORIGINS = ("Côte d’Ivoire", "Deutschland", "España", "日本", "México", "Ísland", "Türkiye", "UK")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")

TAG_WORDS = (
    "sale", "new", "gift", "eco", "bestseller", "handmade", "bundle", "clearance", "premium",
    "organic", "vegan", "local", "imported", "limited", "seasonal", "classic", "kids", "travel",
    "outdoor", "office",
)
# Distinct in SQLite, duplicates of each other under a *_ci collation.
COLLIDING_TAGS = ("Red", "red", "Eco-Friendly", "eco-friendly", "crème", "Crème", "🎁 gift")

REVIEW_TITLES = (
    "Great value", "Not as described", "Love it!", "Broke after a week", "Perfect gift",
    "Meh", "Five stars ⭐⭐⭐⭐⭐", "Trop cher", "Sehr gut", "Muy bueno", "Would buy again",
    "Arrived late", "Exactly what I needed", "Quality 👍", "Okay-ish",
)
REVIEW_SENTENCES = (
    "Works exactly as expected.", "The colour is slightly different from the photo.",
    "Delivery was quick and the packaging was fine.", "I've used it every day since it arrived.",
    "My kids love it 😍.", "Customer service replied within a day.", "Qualité correcte pour le prix.",
    "Die Verarbeitung ist hervorragend.", "Not worth the money, sadly.", "It's \"fine\", I guess.",
    "Path in the manual is C:\\Program Files\\Shop — odd.", "Smells a bit of plastic at first.",
    "10/10 would recommend 🚀", "It's smaller than I thought: 12 × 8 cm.",
)
# Bodies a review form really receives now and then: control characters and long pastes.
ODD_REVIEW_BODIES = (
    "Line one\r\nLine two\r\n\r\nSigned, a customer",
    "Tabs\there\tand\tthere",
    "Trailing spaces   ",
    "Copied from a PDF:\x00with a NUL byte in it",
    "Backslash at the end \\",
    "Emoji only: 😀😃😄😁😆😅🤣😂",
    "'; DROP TABLE shop_review; --",
    "NULL",
)
ORDER_NOTES = (
    "Please leave at the door", "Gift wrap, please 🎁", "Call before delivery",
    "Rechnung an Firma", "No plastic packaging", "Ring twice\nthen wait",
)
SEARCH_WORDS = NOUNS + ADJECTIVES + COLORS + ("cheap", "gift for mum", "café", "über", "niño")

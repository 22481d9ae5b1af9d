"""The demo's wines: each region's producers and the wines they make, with facts
that agree (appellation, colour, grapes, sweetness, vintage or not, alcohol,
price for the region, food for the style), for demo/builder.py to lay out."""

from dataclasses import dataclass

# Each grape's skin: a white wine is made of white grapes; reds, rosés and ports
# of red ones; sparkling wines of either.
GRAPES = {
    "Cabernet Sauvignon": ("red", "Firm tannins, blackcurrant and cedar."),
    "Merlot": ("red", "Plump plum fruit and a soft texture."),
    "Pinot Noir": ("red", "Red cherry, forest floor, silk."),
    "Syrah": ("red", "Black pepper, violets and dark fruit; Shiraz in Australia."),
    "Grenache": ("red", "Ripe strawberry and warm spice."),
    "Mourvèdre": ("red", "Dark, meaty and gamey; the M of GSM."),
    "Carignan": ("red", "Old bush vines, bramble fruit and grip."),
    "Cinsault": ("red", "Light, fragrant red fruit."),
    "Sangiovese": ("red", "Sour cherry, tea leaf and bright acidity."),
    "Nebbiolo": ("red", "Roses and tar, with grip to age for decades."),
    "Tempranillo": ("red", "Leather, tobacco and red fruit."),
    "Touriga Nacional": ("red", "Floral, dense and powerful."),
    "Chardonnay": ("white", "From taut and mineral to rich and buttery."),
    "Sauvignon Blanc": ("white", "Gooseberry, cut grass, flint."),
    "Sémillon": ("white", "Waxy lemon and, touched by noble rot, honey."),
    "Riesling": ("white", "Lime, petrol and electric acidity."),
    "Chenin Blanc": ("white", "Quince and honey over racy acidity."),
    "Vermentino": ("white", "Lemon, herbs and a salty, coastal finish."),
    "Viura": ("white", "Green apple and almond; Rioja's white grape."),
    "Moscato": ("white", "Grapey, floral, orange blossom."),
}

# What each style tastes of and goes with
STYLES = {
    "red_bold": (
        "Blackcurrant, plum and cedar; firm tannins and a long, savoury finish.",
        "Roast lamb with rosemary, grilled rib-eye, aged hard cheeses.",
    ),
    "red_light": (
        "Red cherry and raspberry, a touch of spice; silky and fresh.",
        "Roast chicken, mushroom risotto, charcuterie.",
    ),
    "white_crisp": (
        "Citrus peel, white flowers and wet stone; taut, with a saline edge.",
        "Oysters, grilled fish, goat's cheese.",
    ),
    "white_rich": (
        "Ripe pear, hazelnut and a little oak; round and long.",
        "Lobster, roast chicken with tarragon, creamy sauces.",
    ),
    "off_dry": (
        "Green apple, lime and slate; a touch of sweetness balanced by acidity.",
        "Thai green curry, pork with apple, spicy dishes.",
    ),
    "rose": (
        "Wild strawberry and peach, pale and dry, with a crisp finish.",
        "Salade niçoise, grilled prawns, summer lunches.",
    ),
    "sparkling": (
        "Fine bead, brioche and green apple; creamy and precise.",
        "Oysters, smoked salmon, fried chicken, celebrations.",
    ),
    "sweet": (
        "Apricot, honey and marmalade, lifted by bright acidity.",
        "Fruit tarts, blue cheese, foie gras.",
    ),
    "fortified": (
        "Fig, walnut and dark chocolate; warming and endlessly long.",
        "Stilton, dark chocolate, walnuts.",
    ),
}


@dataclass(frozen=True)
class Cuvee:
    name: str
    colour: str  # products.models.Colour
    style: str  # STYLES
    grapes: tuple
    price: tuple  # a 75 cl bottle, in dollars: (lowest, highest)
    abv: tuple  # (lowest, highest) percent
    vintage: bool = True  # False: non-vintage (NV)
    age: tuple = (2, 8)  # years between the harvest and now


@dataclass(frozen=True)
class Region:
    name: str
    code: str
    intro: str
    producers: tuple
    cuvees: tuple


BOLD, LIGHT = (13.5, 15.0), (12.5, 13.5)
CRISP, RICH = (11.5, 13.0), (13.0, 14.0)

COUNTRIES = {
    "France": (
        "From Bordeaux châteaux to Burgundy's walled plots, the benchmark for "
        "most of the world's great wines.",
        [
            Region(
                "Bordeaux",
                "BDX",
                "Gravel banks, Atlantic weather and blends of Cabernet and Merlot.",
                ("Château Lafleur-Marsan", "Château Belle-Rive", "Domaine de Pessac"),
                (
                    Cuvee(
                        "Grand Vin",
                        "red",
                        "red_bold",
                        ("Cabernet Sauvignon", "Merlot"),
                        (45, 95),
                        BOLD,
                        age=(4, 12),
                    ),
                    Cuvee(
                        "Second Vin",
                        "red",
                        "red_bold",
                        ("Merlot", "Cabernet Sauvignon"),
                        (22, 38),
                        BOLD,
                    ),
                    Cuvee(
                        "Blanc",
                        "white",
                        "white_crisp",
                        ("Sauvignon Blanc", "Sémillon"),
                        (24, 42),
                        CRISP,
                    ),
                    Cuvee(
                        "Sauternes",
                        "sweet",
                        "sweet",
                        ("Sémillon", "Sauvignon Blanc"),
                        (35, 70),
                        (13.5, 14.0),
                        age=(5, 15),
                    ),
                ),
            ),
            Region(
                "Burgundy",
                "BUR",
                "Single grapes, single vineyards: Pinot Noir and Chardonnay "
                "mapped plot by plot.",
                ("Domaine Fèvre-Lacombe", "Maison Rolland", "Domaine des Tilleuls"),
                (
                    Cuvee(
                        "Bourgogne Rouge",
                        "red",
                        "red_light",
                        ("Pinot Noir",),
                        (24, 38),
                        LIGHT,
                    ),
                    Cuvee(
                        "Gevrey-Chambertin",
                        "red",
                        "red_light",
                        ("Pinot Noir",),
                        (65, 120),
                        LIGHT,
                        age=(4, 10),
                    ),
                    Cuvee(
                        "Meursault",
                        "white",
                        "white_rich",
                        ("Chardonnay",),
                        (55, 95),
                        RICH,
                    ),
                    Cuvee(
                        "Chablis Premier Cru",
                        "white",
                        "white_crisp",
                        ("Chardonnay",),
                        (35, 55),
                        CRISP,
                    ),
                ),
            ),
            Region(
                "Rhône Valley",
                "RHO",
                "Syrah on the granite slopes of the north, Grenache blends in the "
                "sunny south.",
                ("Domaine Chave-Roux", "Clos Saint-Jean", "Cave de Tain"),
                (
                    Cuvee(
                        "Crozes-Hermitage",
                        "red",
                        "red_bold",
                        ("Syrah",),
                        (22, 34),
                        BOLD,
                    ),
                    Cuvee(
                        "Châteauneuf-du-Pape",
                        "red",
                        "red_bold",
                        ("Grenache", "Syrah", "Mourvèdre"),
                        (45, 80),
                        BOLD,
                        age=(3, 10),
                    ),
                    Cuvee(
                        "Tavel Rosé",
                        "rose",
                        "rose",
                        ("Grenache", "Cinsault"),
                        (18, 26),
                        (12.5, 13.5),
                        age=(1, 2),
                    ),
                    Cuvee(
                        "Côtes du Rhône",
                        "red",
                        "red_light",
                        ("Grenache", "Syrah"),
                        (13, 19),
                        LIGHT,
                        age=(1, 4),
                    ),
                ),
            ),
            Region(
                "Champagne",
                "CHA",
                "Chalk cellars and the slow second fermentation that makes bubbles.",
                ("Maison Deville", "Champagne Aubry-Lenoir"),
                (
                    Cuvee(
                        "Brut Réserve",
                        "sparkling",
                        "sparkling",
                        ("Chardonnay", "Pinot Noir"),
                        (38, 55),
                        (12.0, 12.5),
                        vintage=False,
                    ),
                    Cuvee(
                        "Blanc de Blancs",
                        "sparkling",
                        "sparkling",
                        ("Chardonnay",),
                        (60, 95),
                        (12.0, 12.5),
                        age=(6, 12),
                    ),
                    Cuvee(
                        "Rosé Brut",
                        "sparkling",
                        "sparkling",
                        ("Pinot Noir", "Chardonnay"),
                        (48, 70),
                        (12.0, 12.5),
                        vintage=False,
                    ),
                ),
            ),
        ],
    ),
    "Italy": (
        "Hundreds of native grapes, from Alpine foothills to volcanic islands.",
        [
            Region(
                "Tuscany",
                "TUS",
                "Cypress hills, Sangiovese and the Super Tuscans.",
                ("Tenuta di Valgiano", "Castello Ferraio", "Podere Le Ripe"),
                (
                    Cuvee(
                        "Chianti Classico",
                        "red",
                        "red_light",
                        ("Sangiovese",),
                        (19, 30),
                        LIGHT,
                    ),
                    Cuvee(
                        "Chianti Classico Riserva",
                        "red",
                        "red_bold",
                        ("Sangiovese",),
                        (30, 48),
                        BOLD,
                        age=(3, 8),
                    ),
                    Cuvee(
                        "Brunello di Montalcino",
                        "red",
                        "red_bold",
                        ("Sangiovese",),
                        (55, 95),
                        BOLD,
                        age=(5, 12),
                    ),
                    Cuvee(
                        "Vermentino",
                        "white",
                        "white_crisp",
                        ("Vermentino",),
                        (16, 24),
                        CRISP,
                        age=(1, 3),
                    ),
                ),
            ),
            Region(
                "Piedmont",
                "PIE",
                "Fog-covered hills where Nebbiolo becomes Barolo and Barbaresco.",
                ("Cantina Bartoli", "Azienda Agricola Serra"),
                (
                    Cuvee(
                        "Barolo",
                        "red",
                        "red_bold",
                        ("Nebbiolo",),
                        (55, 110),
                        (14.0, 14.5),
                        age=(5, 14),
                    ),
                    Cuvee(
                        "Barbaresco",
                        "red",
                        "red_bold",
                        ("Nebbiolo",),
                        (45, 85),
                        (13.5, 14.5),
                        age=(4, 12),
                    ),
                    Cuvee(
                        "Langhe Nebbiolo",
                        "red",
                        "red_light",
                        ("Nebbiolo",),
                        (22, 32),
                        LIGHT,
                        age=(2, 5),
                    ),
                    Cuvee(
                        "Moscato d'Asti",
                        "sweet",
                        "sweet",
                        ("Moscato",),
                        (16, 24),
                        (5.0, 5.5),
                        age=(1, 2),
                    ),
                ),
            ),
        ],
    ),
    "Spain": (
        "Old vines, high plateaus and wines aged with patience.",
        [
            Region(
                "Rioja",
                "RIO",
                "Tempranillo aged in American oak, from joven to gran reserva.",
                ("Bodegas Ardanza", "Viña Olmedo", "Bodegas del Ebro"),
                (
                    Cuvee(
                        "Crianza",
                        "red",
                        "red_light",
                        ("Tempranillo",),
                        (14, 22),
                        LIGHT,
                        age=(3, 5),
                    ),
                    Cuvee(
                        "Reserva",
                        "red",
                        "red_bold",
                        ("Tempranillo", "Grenache"),
                        (24, 38),
                        BOLD,
                        age=(5, 9),
                    ),
                    Cuvee(
                        "Gran Reserva",
                        "red",
                        "red_bold",
                        ("Tempranillo",),
                        (40, 70),
                        BOLD,
                        age=(7, 14),
                    ),
                    Cuvee(
                        "Blanco",
                        "white",
                        "white_crisp",
                        ("Viura",),
                        (13, 20),
                        CRISP,
                        age=(1, 3),
                    ),
                ),
            ),
            Region(
                "Priorat",
                "PRI",
                "Slate terraces called llicorella and tiny yields.",
                ("Celler Mas Roig", "Clos de l'Obac"),
                (
                    Cuvee(
                        "Vi de Vila",
                        "red",
                        "red_bold",
                        ("Grenache", "Carignan"),
                        (35, 60),
                        (14.5, 15.0),
                    ),
                    Cuvee(
                        "Llicorella",
                        "red",
                        "red_bold",
                        ("Grenache", "Syrah"),
                        (55, 90),
                        (14.5, 15.0),
                        age=(4, 10),
                    ),
                ),
            ),
        ],
    ),
    "Portugal": (
        "Steep schist terraces, native grapes and the world's great fortified wines.",
        [
            Region(
                "Douro",
                "DOU",
                "The river valley of port and of ever finer dry reds.",
                ("Quinta da Ribeira", "Quinta do Vale Alto"),
                (
                    Cuvee(
                        "Vintage Port",
                        "fortified",
                        "fortified",
                        ("Touriga Nacional",),
                        (55, 110),
                        (19.5, 20.5),
                        age=(5, 20),
                    ),
                    Cuvee(
                        "20 Year Old Tawny Port",
                        "fortified",
                        "fortified",
                        ("Touriga Nacional",),
                        (45, 70),
                        (19.5, 20.5),
                        vintage=False,
                    ),
                    Cuvee(
                        "Douro Tinto",
                        "red",
                        "red_bold",
                        ("Touriga Nacional",),
                        (16, 28),
                        BOLD,
                    ),
                ),
            ),
        ],
    ),
    "Germany": (
        "Cool river valleys and the world's finest Rieslings.",
        [
            Region(
                "Mosel",
                "MOS",
                "Vertiginous slate slopes over a winding river.",
                ("Weingut Becker-Loos", "Weingut Stein"),
                (
                    Cuvee(
                        "Riesling Trocken",
                        "white",
                        "white_crisp",
                        ("Riesling",),
                        (16, 26),
                        (11.5, 12.5),
                        age=(1, 4),
                    ),
                    Cuvee(
                        "Riesling Kabinett",
                        "white",
                        "off_dry",
                        ("Riesling",),
                        (18, 28),
                        (8.0, 9.5),
                        age=(1, 6),
                    ),
                    Cuvee(
                        "Riesling Spätlese",
                        "sweet",
                        "sweet",
                        ("Riesling",),
                        (24, 38),
                        (7.5, 8.5),
                        age=(2, 10),
                    ),
                ),
            ),
        ],
    ),
    "Australia": (
        "Old-vine Shiraz, cool-climate Chardonnay and bold ideas.",
        [
            Region(
                "Barossa Valley",
                "BAR",
                "Some of the oldest Shiraz vines in the world.",
                ("Hollow Creek Estate", "Kalimna Ridge"),
                (
                    Cuvee(
                        "Old Vine Shiraz",
                        "red",
                        "red_bold",
                        ("Syrah",),
                        (28, 55),
                        (14.5, 15.0),
                    ),
                    Cuvee(
                        "Grenache Shiraz Mourvèdre",
                        "red",
                        "red_bold",
                        ("Grenache", "Syrah", "Mourvèdre"),
                        (20, 32),
                        BOLD,
                    ),
                    Cuvee(
                        "Grand Tawny",
                        "fortified",
                        "fortified",
                        ("Grenache", "Syrah"),
                        (25, 40),
                        (18.5, 19.5),
                        vintage=False,
                    ),
                ),
            ),
        ],
    ),
    "South Africa": (
        "Cape sunshine, ocean breezes and old-vine Chenin Blanc.",
        [
            Region(
                "Stellenbosch",
                "STE",
                "Granite mountains and long, warm afternoons.",
                ("Rustenhof Wines", "Vergenoegd Estate"),
                (
                    Cuvee(
                        "Cabernet Sauvignon",
                        "red",
                        "red_bold",
                        ("Cabernet Sauvignon",),
                        (22, 38),
                        BOLD,
                    ),
                    Cuvee(
                        "Chenin Blanc",
                        "white",
                        "white_crisp",
                        ("Chenin Blanc",),
                        (14, 22),
                        CRISP,
                        age=(1, 3),
                    ),
                ),
            ),
            Region(
                "Swartland",
                "SWA",
                "Dry-farmed bush vines and a new wave of growers.",
                ("Paardeberg Cellars", "Riebeek Vines"),
                (
                    Cuvee(
                        "Old Vine Chenin Blanc",
                        "white",
                        "white_rich",
                        ("Chenin Blanc",),
                        (24, 36),
                        RICH,
                    ),
                    Cuvee(
                        "Cinsault",
                        "red",
                        "red_light",
                        ("Cinsault",),
                        (18, 26),
                        (12.0, 13.0),
                        age=(1, 4),
                    ),
                    Cuvee(
                        "Syrah",
                        "red",
                        "red_bold",
                        ("Syrah",),
                        (22, 34),
                        BOLD,
                    ),
                    Cuvee(
                        "Rosé",
                        "rose",
                        "rose",
                        ("Cinsault", "Grenache"),
                        (14, 20),
                        (12.0, 13.0),
                        age=(1, 2),
                    ),
                ),
            ),
        ],
    ),
}

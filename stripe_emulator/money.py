"""Currencies as Stripe knows them: which exist, their decimals and minimum charges."""

from decimal import Decimal

# https://docs.stripe.com/currencies
SUPPORTED_CURRENCIES = frozenset(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bif bmd bnd bob brl
    bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur
    fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jpy kes
    kgs khr kmf krw kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr
    mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln pyg qar ron rsd
    rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs top try ttd twd tzs
    uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
    """.split()  # noqa: SIM905 - a word list reads better than 135 quoted strings
)
ZERO_DECIMAL_CURRENCIES = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()  # noqa: SIM905
)
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts
MINIMUM_CHARGE = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500,
    "inr": 50, "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50,
    "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
MAXIMUM_AMOUNT = 99_999_999
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


def decimals(currency):
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


def format_amount(amount, currency):
    """``1250, "usd"`` -> ``"$12.50"``; ``1200, "jpy"`` -> ``"¥1,200"``."""
    places = decimals(currency)
    value = Decimal(abs(amount)).scaleb(-places)
    number = f"{value:,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency.lower())
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}"

import pytest

from shipping import addresses


@pytest.mark.parametrize(
    ("country", "city", "state", "postal_code", "want"),
    [
        ("US", "New York", "NY", "10118", ["New York, NY 10118"]),
        ("CA", "Toronto", "ON", "M5V 3L9", ["Toronto ON M5V 3L9"]),
        ("GB", "London", "", "EC1A 1BB", ["London", "EC1A 1BB"]),
        ("FR", "Paris", "", "75001", ["75001 Paris"]),
        ("IT", "Milano", "MI", "20121", ["20121 Milano MI"]),
    ],
)
def test_an_address_is_written_as_its_country_writes_it(
    country, city, state, postal_code, want
):
    got = addresses.lines(
        country=country,
        name="Ada Lovelace",
        street="12 Analytical Row\nFlat 2",
        city=city,
        state=state,
        postal_code=postal_code,
    )

    assert got[-len(want) :] == want
    assert "Ada Lovelace" in got
    assert got.index("12 Analytical Row") + 1 == got.index("Flat 2")


def test_an_unknown_country_falls_back_to_one_line_of_town():
    assert addresses.lines(
        country="XX", name="Ada", street="1 Road", city="Town", postal_code="123"
    ) == ["Ada", "1 Road", "123 Town"]


@pytest.mark.parametrize(
    ("country", "state", "name"),
    [
        ("US", "NY", "New York, United States of America"),
        ("CA", "ON", "Ontario, Canada"),
        ("FR", "", "France"),
        ("US", "ZZ", "ZZ, United States of America"),  # an unknown code, as it is
    ],
)
def test_a_destination_is_named_as_a_shopper_reads_it(country, state, name):
    assert addresses.place_name(country, state) == name

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from products.tests import factories

# Stated in docs/speed.md; the same with 1 line and with 30.
MAX_QUERIES = {"/cart/": 8, "/cart/api/": 2}


@pytest.fixture
def thirty_variants(db):
    image = get_image_model().objects.create(
        title="Cart bottle", file=get_test_image_file()
    )
    region = factories.region("Many Lines", factories.country("Lineland"))
    variants = []
    for number in range(10):
        wine = factories.wine(
            region,
            f"Line Wine {number}",
            image=image,
            variants=[factories.variant("9.00", label=f"Size {n}") for n in range(3)],
        )
        variants.extend(wine.variants.all())
    return variants


def queries_for(client, url):
    client.get(url)  # warm-up: thumbnails are rendered once
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_cart_reads_do_not_grow_with_lines(
    client, thirty_variants, django_assert_max_num_queries
):
    client.post("/cart/add/", {"variant": thirty_variants[0].pk, "quantity": 1})
    with_one = {url: queries_for(client, url) for url in MAX_QUERIES}

    for variant in thirty_variants[1:]:
        client.post("/cart/add/", {"variant": variant.pk, "quantity": 2})
    assert client.get("/cart/api/").json()["count"] == 1 + 29 * 2
    with_thirty = {url: queries_for(client, url) for url in MAX_QUERIES}

    assert with_thirty == with_one
    for url, most in MAX_QUERIES.items():
        with django_assert_max_num_queries(most):
            client.get(url)


def test_a_wine_page_view_without_a_cart_writes_nothing(client, thirty_variants):
    url = thirty_variants[0].page.url
    client.get(url)  # the first view renders the image

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)

    assert response.status_code == 200
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
    assert "sessionid" not in client.cookies

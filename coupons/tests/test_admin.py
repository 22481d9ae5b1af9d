from coupons.models import Coupon, CouponHold


def test_merchants_list_and_search_coupons(staff_client):
    autumn = Coupon.objects.create(
        code="AUTUMN", kind="percent", value=15, usage_limit=10
    )
    CouponHold.objects.create(coupon=autumn, holder="order:a")
    CouponHold.objects.create(coupon=autumn, holder="order:b")
    client = staff_client("Merchants")

    listing = client.get("/admin/coupons/")
    found = client.get("/admin/coupons/", {"q": "autumn"})

    assert listing.status_code == 200
    html = listing.content.decode()
    for code in ("AUTUMN", "CELLAR5", "WELCOME10"):
        assert code in html
    assert "0 / 10" in html
    assert [(c.code, c.held_count) for c in found.context["object_list"]] == [
        ("AUTUMN", 2)
    ]


def test_merchant_sees_validation_in_their_words(staff_client):
    client = staff_client("Merchants")

    response = client.post(
        "/admin/coupons/new/",
        {
            "code": "welcome10",
            "kind": "percent",
            "value": "150",
            "valid_from": "2026-05-01 00:00",
            "valid_to": "2026-04-01 00:00",
            "active": "on",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["code"] == [
        "There is already a coupon WELCOME10; codes ignore upper and lower case."
    ]
    assert errors["value"] == ["A percentage cannot be above 100."]
    assert errors["valid_to"] == ["The end must be after the start."]
    assert Coupon.objects.filter(code="WELCOME10").count() == 1


def test_editors_cannot_see_coupons(staff_client):
    client = staff_client("Editors")

    response = client.get("/admin/coupons/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"

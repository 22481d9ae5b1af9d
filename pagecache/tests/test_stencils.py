"""Stencils (pagecache/stencils.py): made once per catalogue version, filled per
request, never leaking a marker or an unescaped value."""

import pytest
from django.utils.safestring import SafeString, mark_safe

from pagecache import changed, stencils


def test_fill_escapes_values_unless_they_are_marked_safe():
    stencil = stencils.Stencil(
        f"<p>{stencils.slot('name')} × {stencils.slot('count')}</p>"
        f"{stencils.slot('extra')}"
    )

    html = stencil.fill(
        {"name": "<b>Ch & Co</b>", "count": 3, "extra": mark_safe("<hr>")}
    )

    assert html == "<p>&lt;b&gt;Ch &amp; Co&lt;/b&gt; × 3</p><hr>"
    assert isinstance(html, SafeString)
    assert stencil.slots() == ["name", "count", "extra"]


def test_a_slot_without_a_value_is_an_error_not_a_marker_on_the_page():
    stencil = stencils.Stencil(f"<p>{stencils.slot('total')}</p>")

    with pytest.raises(KeyError):
        stencil.fill({})


def test_a_slot_survives_a_templates_escaping(rf):
    from django.template import engines

    template = engines["django"].from_string('<input value="{{ quantity }}">')

    html = template.render({"quantity": stencils.slot("quantity")})

    assert stencils.fill(html, {"quantity": 7}) == '<input value="7">'


@pytest.mark.django_db
def test_kept_until_the_catalogue_changes(page_cache, rf):
    request = rf.get("/")
    made = []

    def render():
        made.append(len(made))
        return f"stencil {len(made)}"

    first = stencils.kept(request, "test", "key", render)
    again = stencils.kept(rf.get("/"), "test", "key", render)
    other = stencils.kept(rf.get("/"), "test", "other key", render)
    changed()
    after = stencils.kept(rf.get("/"), "test", "key", render)

    assert (first, again, other, after) == (
        "stencil 1",
        "stencil 1",
        "stencil 2",
        "stencil 3",
    )


@pytest.mark.django_db
def test_with_the_cache_off_each_request_makes_its_own(settings, rf):
    settings.CATALOGUE_CACHE_SECONDS = 0
    made = []

    def render():
        made.append(1)
        return "stencil"

    for _ in range(3):
        stencils.kept(rf.get("/"), "test", "key", render)

    assert len(made) == 3


@pytest.mark.django_db
def test_a_kind_past_its_limit_starts_afresh(page_cache, rf, monkeypatch):
    monkeypatch.setattr(stencils, "LIMIT", 3)
    made = []

    def render():
        made.append(1)
        return "stencil"

    for key in (1, 2, 3, 4, 1):
        stencils.kept(rf.get("/"), "test", key, render)

    # 1, 2, 3 made; 4 cleared them and was made; 1 was made again
    assert len(made) == 5

"""The page cache as a package of its own: a plain Django view, a hole and a model of
the test's, no Wagtail page and no shop app (home/tests/test_caching.py tests the
shop's pages through it)."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError

import pagecache
from pagecache import clock, holes
from pagecache.middleware import CataloguePageCacheMiddleware, _views


@pytest.fixture
def greeting_hole():
    holes.register_hole(
        "greeting",
        lambda request: f"hello {request.COOKIES.get('name', '?')}",
        lambda: "hello stranger",
    )
    yield
    holes._holes.pop("greeting")
    holes.forget()


def make_view(calls):
    def view(request):
        calls.append(request)
        pagecache.cacheable(request)
        greeting = pagecache.hole(request, "greeting", view.greeting(request))
        return HttpResponse(f"<p>{greeting}</p><p>{view.body}</p>")

    view.body = "first"
    view.greeting = lambda request: f"hello {request.COOKIES.get('name', '?')}"
    return view


def serve(view, rf, **cookies):
    request = rf.get("/greeting/")
    request.user = AnonymousUser()
    request.COOKIES.update(cookies)
    middleware = CataloguePageCacheMiddleware(view)
    answer = middleware.process_view(request, view, (), {})
    return (answer or middleware(request)).content.decode()


@pytest.mark.django_db
def test_a_registered_view_is_served_from_the_cache_each_visitor_with_their_own_hole(
    page_cache, rf, greeting_hole
):
    # given: a view the app registered, that says it may be cached
    calls = []
    view = make_view(calls)
    pagecache.serve_cached(view)
    try:
        # when: Ann, then Bob with a session, then a new visitor ask for it
        ann = serve(view, rf, name="Ann", sessionid="s1")
        view.body = "changed without telling the cache"
        bob = serve(view, rf, name="Bob", sessionid="s2")
        stranger = serve(view, rf)
    finally:
        _views.discard(view)

    # then: the view ran once; each got the cached page with their own greeting
    assert len(calls) == 1
    assert ann == "<p>hello Ann</p><p>first</p>"
    assert bob == "<p>hello Bob</p><p>first</p>"
    assert stranger == "<p>hello stranger</p><p>first</p>"


@pytest.mark.django_db
def test_a_view_not_registered_is_never_cached(page_cache, rf, greeting_hole):
    calls = []
    view = make_view(calls)

    first = serve(view, rf, name="Ann")
    view.body = "second"
    second = serve(view, rf, name="Ann")

    assert len(calls) == 2
    assert (first, second) == (
        "<p>hello Ann</p><p>first</p>",
        "<p>hello Ann</p><p>second</p>",
    )


@pytest.mark.django_db
def test_a_watched_model_moves_the_version_on_when_saved_or_deleted(page_cache):
    # given: an app watches a model of its own (here, Django's Group)
    pagecache.watch(Group)
    try:
        before = clock.current_version()
        # when: a row is saved, then deleted
        group = Group.objects.create(name="Tasters")
        after_save = clock.read_version()
        group.delete()
        after_delete = clock.read_version()
    finally:
        from django.db.models.signals import post_delete, post_save

        for signal in (post_save, post_delete):
            signal.disconnect(sender=Group, dispatch_uid="pagecache")

    # then: each moved the version on
    assert before < after_save < after_delete


def test_a_hole_the_apps_did_not_register_is_a_template_error(greeting_hole):
    template = Template('{% load pagecache %}{% hole "greeting" %}hi{% endhole %}')
    assert template.render(Context({})) == "hi"
    with pytest.raises(TemplateSyntaxError, match="hole takes one of"):
        Template('{% load pagecache %}{% hole "basket" %}hi{% endhole %}')


def test_a_page_split_at_its_holes_fills_each_hole_once_per_request(greeting_hole, rf):
    calls = []
    holes.register_hole(
        "counted", lambda request: calls.append(1) or f"#{len(calls)}", lambda: "#0"
    )
    try:
        template = (
            "<p><!--hole:greeting--></p><!--hole:counted--><b>"
            "<!--hole:counted--></b><!--hole:greeting-->"
        )
        request = rf.get("/", HTTP_COOKIE="name=ann")

        split = holes.parts(template)
        html = holes.filled_parts(split, request)

        assert html == "<p>hello ann</p>#1<b>#1</b>hello ann"
        assert calls == [1]
        assert holes.filled_parts(split, rf.get("/")) == (
            "<p>hello ?</p>#2<b>#2</b>hello ?"
        )
        assert split == holes.parts(template)  # filling leaves the split alone
        assert holes.filled_parts(holes.parts(template), request) == (
            "<p>hello ann</p>#3<b>#3</b>hello ann"
        )
    finally:
        holes._holes.pop("counted")


def test_what_a_process_keeps_per_host_is_bounded(page_cache, rf, monkeypatch):
    from pagecache import memo

    monkeypatch.setattr(memo, "LIMIT", 3)
    for port in range(1, 8):  # every port of an allowed host is a host of its own
        request = rf.get("/", HTTP_HOST=f"testserver:{port}")
        assert pagecache.per_version("header", request, lambda p=port: p) == port
        assert len(memo._derived) <= 3
    assert pagecache.per_version("header", request, lambda: "again") == 7

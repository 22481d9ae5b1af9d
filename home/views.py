from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from products.catalogue import canonical_page
from products.models import WinePage

from . import caching

SEARCH_RESULTS_PER_PAGE = 12
MAX_QUERY_LENGTH = 200


@require_GET
def search(request):
    asked = request.GET.get("q", "")
    query = asked.strip()[:MAX_QUERY_LENGTH]
    results = None
    caching.mark_cacheable(request)
    if query != asked:
        caching.not_canonical(request)
    if query:
        wines = WinePage.objects.for_listing().order_by()
        results = Paginator(
            wines.search(query, order_by_relevance=True), SEARCH_RESULTS_PER_PAGE
        ).get_page(request.GET.get("page"))
        if not canonical_page(request, results):
            caching.not_canonical(request)
    return render(
        request,
        "home/search.html",
        {
            "search_query": query,
            "search_querystring": urlencode({"q": query}),
            "results": results,
        },
    )


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_status():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        return "unreachable"


@never_cache
@require_GET
def healthz(request):
    database = "ok" if _database_ok() else "unreachable"
    broker = _broker_status()
    healthy = database == "ok" and broker in ("ok", "eager")
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "broker": broker,
        },
        status=200 if healthy else 503,
    )

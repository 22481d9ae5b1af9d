from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

import pagecache
from products.catalogue import canonical_page
from products.models import WinePage

from . import search as catalogue_search

SEARCH_RESULTS_PER_PAGE = 12
MAX_QUERY_LENGTH = 200


@require_GET
def search(request):
    asked = request.GET.get("q", "")
    query = asked.strip()[:MAX_QUERY_LENGTH]
    results = None
    pagecache.cacheable(request)
    if query != asked:
        pagecache.not_canonical(request)
    how, corrected, suggested = "", "", []
    if query:
        wines = WinePage.objects.for_listing().order_by()
        found, how, corrected = catalogue_search.find(wines, query, request)
        results = Paginator(found, SEARCH_RESULTS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        if not canonical_page(request, results):
            pagecache.not_canonical(request)
        if not how:
            suggested = catalogue_search.suggestions(request)
    return render(
        request,
        "home/search.html",
        {
            "search_query": query,
            "search_querystring": urlencode({"q": query}),
            "results": results,
            "matched": how,
            "corrected": corrected,
            "suggestions": suggested,
        },
    )

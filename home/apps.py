import functools

from django.apps import AppConfig
from django.contrib.messages import get_messages
from django.db.models.signals import post_delete
from django.template.loader import render_to_string
from wagtail.signals import page_published, page_unpublished, post_page_move

import pagecache


@functools.cache
def no_messages():
    """The messages' place on a page when there are none: the same for everyone."""
    return render_to_string("includes/messages.html", {"messages": []})


def messages_part(request):
    """The messages' hole: most visits have none, and counting them marks none as
    shown, so only a visit with messages renders (and so uses) them."""
    storage = get_messages(request)
    if not len(storage):
        return no_messages()
    return render_to_string("includes/messages.html", {"messages": storage})


class HomeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "home"
    verbose_name = "site"

    def ready(self):
        # Models (and what imports them) only once the app registry is ready.
        from wagtail.images import get_image_model
        from wagtail.models import Page, PageViewRestriction, Site
        from wagtail.views import serve

        from core.pages import serves_pages

        from .models import ShopSettings
        from .views import search

        pagecache.serve_cached(serve, search)
        serves_pages(serve)
        pagecache.register_hole("messages", messages_part, no_messages)
        # What every catalogue page shows: the pages themselves, where they are,
        # who may see them, their images and the shop's settings.
        pagecache.watch(
            ShopSettings,
            Site,
            PageViewRestriction,
            get_image_model(),
            signals=(page_published, page_unpublished, post_page_move),
        )

        def page_deleted(sender, instance, **kwargs):
            if isinstance(instance, Page):
                pagecache.changed()

        post_delete.connect(page_deleted, weak=False, dispatch_uid="catalogue_page")

from django.apps import AppConfig
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject

import pagecache


class CartConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cart"

    def ready(self):
        # Models (and what imports them) only once the app registry is ready.
        from . import signals  # noqa: F401
        from .services import Cart

        def cart_link(request):
            cart = SimpleLazyObject(lambda: Cart.for_request(request))
            return render_to_string("includes/cart_link.html", {"cart": cart})

        pagecache.register_hole(
            "cart_link",
            cart_link,
            lambda: render_to_string("includes/cart_link.html", {"cart": {"count": 0}}),
        )

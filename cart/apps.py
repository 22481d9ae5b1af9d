from django.apps import AppConfig

import pagecache


class CartConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cart"

    def ready(self):
        # Models (and what imports them) only once the app registry is ready.
        from . import signals  # noqa: F401
        from .badge import badge
        from .services import Cart

        pagecache.register_hole(
            "cart_link",
            lambda request: badge(Cart.for_request(request).count),
            lambda: badge(0),
        )

from django.apps import AppConfig

import pagecache


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "products"
    verbose_name = "catalogue"

    def ready(self):
        from .models import GrapeVariety, WineVariant

        # A variant's price, stock or label and a grape's name show on pages (a
        # sale's stock moves the version itself: products/stock.py).
        pagecache.watch(WineVariant, GrapeVariety)

from django.apps import AppConfig

import pagecache


class ShippingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shipping"
    verbose_name = "shipping and tax"

    def ready(self):
        from .models import ShippingMethod, ShippingZone, TaxRate

        # The delivery page and the carts' estimates show them.
        pagecache.watch(ShippingZone, ShippingMethod, TaxRate)

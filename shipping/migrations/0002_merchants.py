"""Merchants set the shipping zones, methods and tax rates (Shop menu); and a shop
that delivered before zones existed keeps delivering to its countries, free, until
a merchant sets prices."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("shippingzone", "shippingmethod", "taxrate")
ACTIONS = ("add", "change", "delete", "view")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("shipping")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    merchants, _ = Group.objects.get_or_create(name="Merchants")
    merchants.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="shipping",
            codename__in=[f"{a}_{m}" for a in ACTIONS for m in MODELS],
        )
    )
    ShopSettings = apps.get_model("home", "ShopSettings")
    ShippingZone = apps.get_model("shipping", "ShippingZone")
    settings = ShopSettings.objects.first()
    if (
        settings is not None
        and settings.delivery_countries
        and not ShippingZone.objects.exists()
    ):
        zone = ShippingZone.objects.create(
            name="Where we delivered before shipping rates",
            countries=settings.delivery_countries,
        )
        zone.methods.create(name="Standard delivery", price=0)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Merchants"):
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="shipping")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0001_initial"),
        ("home", "0005_prices_include_tax"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

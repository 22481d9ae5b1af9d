"""Merchants see the Customers listing; Editors do not."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Model permissions are created after migrations run; this one is needed now.
    app_config = apps.get_app_config("checkout")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    merchants, _ = Group.objects.get_or_create(name="Merchants")
    merchants.permissions.add(
        Permission.objects.get(
            content_type__app_label="checkout", codename="view_customer"
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Merchants"):
        group.permissions.remove(
            *group.permissions.filter(
                content_type__app_label="checkout", codename="view_customer"
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("checkout", "0003_customers"),
        ("home", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

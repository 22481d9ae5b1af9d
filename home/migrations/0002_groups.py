"""The Editors and Merchants groups, so every install has them, not only the demo.

Editors (a group Wagtail itself creates) write pages, images and the taxonomy
snippets; Merchants work with orders, invoices, coupons, Stripe events and reports.
Neither can do the other's job.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page"]
IMAGE_PERMISSIONS = ["add_image", "change_image", "choose_image"]
EDITOR_MODEL_PERMISSIONS = {
    "products": ["add_grapevariety", "change_grapevariety", "delete_grapevariety"],
}
MERCHANT_MODEL_PERMISSIONS = {
    "home": ["change_shopsettings"],
    "coupons": ["add_coupon", "change_coupon", "delete_coupon", "view_coupon"],
    "checkout": [
        "view_order",
        "view_invoice",
        "view_stripeevent",
        "replay_stripeevent",
        "refund_order",
        "ship_order",
        "manage_order_invoice",
        "clear_order_attention",
    ],
}


def permissions(apps, by_app):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, codenames in by_app.items():
        found += Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
    return found


def create_groups(apps, schema_editor):
    # Model permissions are created after migrations run; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Page = apps.get_model("wagtailcore", "Page")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model(
        "wagtailcore", "GroupCollectionPermission"
    )
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.add(access_admin, *permissions(apps, EDITOR_MODEL_PERMISSIONS))
    root_page = Page.objects.filter(depth=1).first()
    for codename in PAGE_PERMISSIONS:
        GroupPagePermission.objects.get_or_create(
            group=editors,
            page=root_page,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )
    root_collection = Collection.objects.filter(depth=1).first()
    for codename in IMAGE_PERMISSIONS:
        GroupCollectionPermission.objects.get_or_create(
            group=editors,
            collection=root_collection,
            permission=Permission.objects.get(
                content_type__app_label="wagtailimages", codename=codename
            ),
        )

    merchants, _ = Group.objects.get_or_create(name="Merchants")
    merchants.permissions.add(
        access_admin, *permissions(apps, MERCHANT_MODEL_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("home", "0001_initial"),
        ("products", "0001_initial"),
        ("coupons", "0001_coupon"),
        ("checkout", "0002_admin_actions"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        # Fixed names (the latest of Wagtail 8.0): "__latest__" would move with the
        # next Wagtail release, and migrate would then refuse a database on which
        # this migration was already applied (InconsistentMigrationHistory).
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]

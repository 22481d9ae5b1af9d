from wagtail.snippets.views.snippets import SnippetViewSet

from .models import GrapeVariety


class GrapeVarietyViewSet(SnippetViewSet):
    model = GrapeVariety
    icon = "pick"
    menu_label = "Grape varieties"
    add_to_admin_menu = False
    list_display = ["name", "slug"]
    search_fields = ["name"]

from wagtail.snippets.models import register_snippet

from .viewsets import GrapeVarietyViewSet

register_snippet(GrapeVarietyViewSet)

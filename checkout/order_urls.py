from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("invoices/<str:number>.pdf", views.merchant_invoice, name="merchant_invoice"),
    path("<str:token>/invoice.pdf", views.order_invoice, name="invoice"),
    path("<str:token>/", views.order_detail, name="detail"),
    path("<str:token>/reorder/", views.reorder, name="reorder"),
]

from django.urls import path

from . import views

app_name = "checkout"
urlpatterns = [
    path("", views.start, name="start"),
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/hosted/", views.pay_hosted, name="pay_hosted"),
    path("quote/", views.quote, name="quote"),
    path("success/", views.success, name="success"),
    path("cancel/", views.cancel, name="cancel"),
    path("webhook/", views.webhook, name="webhook"),
]

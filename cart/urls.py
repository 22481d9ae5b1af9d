from django.urls import path

from . import views

app_name = "cart"
urlpatterns = [
    path("", views.detail, name="detail"),
    path("add/", views.add, name="add"),
    path("update/", views.update, name="update"),
    path("remove/", views.remove, name="remove"),
    path("clear/", views.clear, name="clear"),
    path("coupon/", views.coupon, name="coupon"),
    path("destination/", views.destination, name="destination"),
    path("api/", views.api, name="api"),
    path("alerts/", views.ask_alert, name="ask_alert"),
    path("alerts/<str:token>/", views.alert, name="alert"),
    path(
        "alerts/<str:token>/unsubscribe/",
        views.alert_unsubscribe,
        name="alert_unsubscribe",
    ),
]

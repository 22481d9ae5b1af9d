from django.urls import path

from . import views

app_name = "account"
urlpatterns = [
    path("", views.home, name="home"),
    path("close/", views.delete, name="delete"),
    path("addresses/", views.addresses, name="addresses"),
    path("addresses/<int:pk>/default/", views.make_default, name="make_default"),
    path("addresses/<int:pk>/delete/", views.delete_address, name="delete_address"),
]

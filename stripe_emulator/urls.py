from django.urls import path

app_name = "stripe_emulator"
urlpatterns: list = []

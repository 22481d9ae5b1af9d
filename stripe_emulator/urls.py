from django.urls import path

from . import views

app_name = "stripe_emulator"
urlpatterns = [
    path("pay/<str:session_id>", views.pay, name="pay"),
    path("authenticate/<str:intent_id>", views.authenticate, name="authenticate"),
    path("v1/payment_intents/<str:intent_id>", views.browser_intent),
    path("v1/payment_intents/<str:intent_id>/<str:action>", views.browser_intent),
]

from celery import shared_task

from . import alerts


@shared_task(name="cart.tasks.send_stock_alerts")
def send_stock_alerts():
    """Email the confirmed back-in-stock alerts whose wine is for sale again."""
    return alerts.send_due()

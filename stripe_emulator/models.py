from django.db import models
from django.utils import timezone


class EmulatedObject(models.Model):
    """One Stripe API object (session, coupon, charge...) as the API returns it."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=64, db_index=True)
    data = models.JSONField()
    # What Stripe keeps about the object but does not show in it, such as a
    # session's payment_intent_data.
    internal = models.JSONField(default=dict, blank=True)
    # Line items belong to their Checkout Session, in the order they were sent.
    parent = models.CharField(max_length=255, blank=True, db_index=True)
    position = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "emulated Stripe object"
        verbose_name_plural = "emulated Stripe objects"

    def __str__(self):
        return f"{self.type} {self.id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, for replays."""

    key = models.CharField(max_length=255, unique=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    params_hash = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "idempotency record"
        verbose_name_plural = "idempotency records"

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"


class EmulatedEvent(models.Model):
    """An event in the outbox: the Stripe event object and its delivery attempts."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=100, db_index=True)
    data = models.JSONField(help_text="The whole Stripe event object.")
    created = models.DateTimeField(default=timezone.now, db_index=True)
    attempt_count = models.PositiveIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(
        default=0, help_text="Attempts the endpoint answered with a 2xx status."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="0 when the endpoint could not be reached."
    )

    class Meta:
        verbose_name = "emulated event"
        verbose_name_plural = "emulated events"
        ordering = ["created", "id"]

    def __str__(self):
        return f"{self.type} {self.id}"

    @property
    def delivered(self):
        return self.delivered_count > 0

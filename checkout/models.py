"""The ledger of Stripe's webhook events (the orders' models are in orders)."""

from django.db import connections, models


class StripeEventQuerySet(models.QuerySet):
    def record(self, event):
        """Add a verified event to the ledger: the new row, or None if its id is
        there already.

        One ``INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING``: a redelivery,
        even one running concurrently, inserts nothing, without the failed insert,
        the savepoint around it and the error in the database's log that
        ``create()`` would cost. (Django's ``ignore_conflicts`` does not say whether
        the row went in.)
        """
        row = self.model(event_id=event["id"], type=event["type"], payload=event)
        self._for_write = True  # as create() does: the router's database for writes
        connection = connections[self.db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        values = [
            field.get_db_prep_save(field.pre_save(row, add=True), connection)
            for field in fields
        ]
        sql = (
            f"INSERT INTO {quote(meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({quote(meta.get_field('event_id').column)}) DO NOTHING "
            f"RETURNING {quote(meta.pk.column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            inserted = cursor.fetchone()
        if inserted is None:
            return None
        row.pk = inserted[0]
        row._state.adding, row._state.db = False, self.db
        return row


class StripeEvent(models.Model):
    """The ledger of webhook events; the unique id makes a redelivery a no-op."""

    class Status(models.TextChoices):
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        # About a payment not recorded yet (a refund that overtook it): applied
        # when the order is paid, or by the reconcile task.
        DEFERRED = "deferred", "Deferred"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PROCESSED
    )
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = StripeEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "Stripe event"
        verbose_name_plural = "Stripe events"
        permissions = [("replay_stripeevent", "Can replay a Stripe event")]

    def __str__(self):
        return f"{self.event_id} ({self.type})"

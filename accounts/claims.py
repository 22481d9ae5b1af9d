"""Guest orders placed with an email become the account's once that email is
verified as the account's own, never before (anyone can type any email at a
guest checkout)."""

from allauth.account.models import EmailAddress

from orders.models import Order


def verified_emails(user):
    return list(
        EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
    )


def claim_guest_orders(user, emails=None):
    """Attach the guest orders placed with the user's verified emails (or with
    ``emails``, already verified); how many were attached."""
    emails = verified_emails(user) if emails is None else emails
    claimed = 0
    for email in emails:
        claimed += Order.objects.filter(user__isnull=True, email__iexact=email).update(
            user=user
        )
    return claimed

from allauth.account.signals import email_confirmed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

import pagecache

from .claims import claim_guest_orders


@receiver(email_confirmed)
def claim_on_verification(sender, request, email_address, **kwargs):
    """The email is proven the account's: its guest orders are too."""
    claim_guest_orders(email_address.user, [email_address.email])


@receiver(user_logged_in)
def claim_on_sign_in(sender, request, user, **kwargs):
    """Guest orders placed since, with an email the account verified before."""
    claim_guest_orders(user)


@receiver(user_logged_in)
def shared_pages_for_shoppers(sender, request, user, **kwargs):
    """A shopper sees the catalogue as everyone does, so their pages come from the
    page cache with their own holes; anyone who may open the admin (the user bar,
    drafts, previews) never does."""
    if request is not None and hasattr(request, "session"):
        request.session[pagecache.SHARED_PAGES_SESSION_KEY] = not user.has_perm(
            "wagtailadmin.access_admin"
        )

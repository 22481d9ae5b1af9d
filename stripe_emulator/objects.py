"""Stripe API objects with the fields of Stripe's published examples.

Field names and nesting follow the OpenAPI fixtures (``fixtures3.json`` in
stripe/openapi); what the emulator does not model is null, empty, or its default.
"""

from django.conf import settings

from .store import new_id, now, random_string

_ADDRESS = dict.fromkeys(
    ("city", "country", "line1", "line2", "postal_code", "state"), None
)


def checkout_session(
    *,
    currency,
    amount_subtotal,
    amount_discount,
    discounts,
    expires_at,
    success_url,
    cancel_url=None,
    client_reference_id=None,
    customer=None,
    customer_email=None,
    customer_creation=None,
    metadata=None,
    shipping_rate=None,
    automatic_tax=None,
    amount_tax=0,
    tax_added=0,
    shipping_tax=0,
):
    """https://docs.stripe.com/api/checkout/sessions/object; ``amount_tax``: all
    the tax (Stripe Tax), ``tax_added`` the part of it on top of the prices."""
    session_id = "cs_test_a1" + random_string(56)
    shipping = shipping_rate["fixed_amount"]["amount"] if shipping_rate else 0
    shipping_added = (
        shipping_tax
        if shipping_rate and shipping_rate["tax_behavior"] == "exclusive"
        else 0
    )
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_subtotal,
        "amount_total": amount_subtotal - amount_discount + shipping + tax_added,
        "automatic_tax": automatic_tax
        or {
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now(),
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_account": None,
        "customer_creation": customer_creation,
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": discounts,
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": None,
        "managed_payments": {"enabled": False},
        "metadata": metadata or {},
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": {
            "amount_subtotal": shipping,
            "amount_tax": shipping_tax,
            "amount_total": shipping + shipping_added,
            "shipping_rate": shipping_rate["id"],
        }
        if shipping_rate
        else None,
        "shipping_options": [
            {"shipping_amount": shipping, "shipping_rate": shipping_rate["id"]}
        ]
        if shipping_rate
        else [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {
            "amount_discount": amount_discount,
            "amount_shipping": shipping,
            "amount_tax": amount_tax,
        },
        "ui_mode": "hosted",
        "url": f"{settings.SITE_URL}/_stripe/pay/{session_id}",
        "wallet_options": None,
    }


def shipping_rate(
    *,
    display_name,
    amount,
    currency,
    delivery_estimate=None,
    tax_behavior="unspecified",
):
    """https://docs.stripe.com/api/shipping_rates/object"""
    return {
        "id": new_id("shr"),
        "object": "shipping_rate",
        "active": True,
        "created": now(),
        "delivery_estimate": delivery_estimate,
        "display_name": display_name,
        "fixed_amount": {"amount": amount, "currency": currency},
        "livemode": False,
        "metadata": {},
        "tax_behavior": tax_behavior,
        "tax_code": None,
        "type": "fixed_amount",
    }


def customer_details(*, email, name):
    return {
        "address": dict(_ADDRESS),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def product(*, name, description=None, metadata=None, tax_code=None):
    return {
        "id": new_id("prod", 14),
        "object": "product",
        "active": True,
        "created": now(),
        "default_price": None,
        "description": description,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": metadata or {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": tax_code,
        "type": "service",
        "unit_label": None,
        "updated": now(),
        "url": None,
    }


def price(*, currency, unit_amount, product_id, tax_behavior="unspecified"):
    return {
        "id": new_id("price"),
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": now(),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id,
        "recurring": None,
        "tax_behavior": tax_behavior,
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def line_item(
    *, price, description, quantity, amount_discount, amount_tax=0, tax_added=False
):
    subtotal = price["unit_amount"] * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": amount_discount,
        "amount_subtotal": subtotal,
        "amount_tax": amount_tax,
        "amount_total": subtotal - amount_discount + (amount_tax if tax_added else 0),
        "currency": price["currency"],
        "description": description,
        "metadata": None,
        "price": price,
        "quantity": quantity,
    }


def coupon(
    *,
    coupon_id=None,
    amount_off=None,
    currency=None,
    percent_off=None,
    duration="once",
    duration_in_months=None,
    max_redemptions=None,
    redeem_by=None,
    name=None,
    metadata=None,
):
    return {
        "id": coupon_id or random_string(8).upper(),
        "object": "coupon",
        "amount_off": amount_off,
        "created": now(),
        "currency": currency,
        "duration": duration,
        "duration_in_months": duration_in_months,
        "livemode": False,
        "max_redemptions": max_redemptions,
        "metadata": metadata or {},
        "name": name,
        "percent_off": percent_off,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }


def customer(*, email=None, name=None, phone=None, description=None, metadata=None):
    return {
        "id": new_id("cus", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": random_string(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata or {},
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payment_intent(
    *, amount, currency, status, customer, metadata, payment_method, method_type
):
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount if status == "succeeded" else 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{random_string(25)}",
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata or {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": [method_type],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def card_details(*, last4, brand, exp_month, exp_year):
    return {
        "type": "card",
        "card": {
            "amount_authorized": None,
            "authorization_code": None,
            "brand": brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "exp_month": exp_month,
            "exp_year": exp_year,
            "extended_authorization": {"status": "disabled"},
            "fingerprint": random_string(16),
            "funding": "credit",
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": last4,
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": brand,
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": 0, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": None,
            "wallet": None,
        },
    }


def bank_debit_details(currency):
    if currency == "eur":
        return {
            "type": "sepa_debit",
            "sepa_debit": {
                "bank_code": "37040044",
                "branch_code": None,
                "country": "DE",
                "fingerprint": random_string(16),
                "last4": "3000",
                "mandate": new_id("mandate"),
            },
        }
    return {
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "fingerprint": random_string(16),
            "last4": "6789",
            "payment_reference": None,
            "routing_number": "110000000",
        },
    }


def charge(*, intent, status, billing_email, billing_name, payment_method_details):
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if status == "succeeded" else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": dict(_ADDRESS),
            "email": billing_email,
            "name": billing_name,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "CELLAR",
        "captured": status == "succeeded",
        "created": now(),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": status == "succeeded",
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": payment_method_details,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(*, charge, amount, reason=None, metadata=None):
    method_type = charge["payment_method_details"]["type"]
    details = {"type": method_type, method_type: {}}
    if method_type == "card":
        details["card"] = {"reference_status": "pending", "type": "refund"}
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": details,
        "metadata": metadata or {},
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def list_object(data, url, *, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": url}

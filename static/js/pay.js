/*
 * The shop's own payment page: Stripe's Payment Element for the order's
 * PaymentIntent. Confirms with redirect "if_required": a card that needs 3-D
 * Secure goes to its bank's page and comes back to the success page; any other
 * outcome comes back here, a decline shown in place with the same intent to try
 * again, a payment on to the success page (which asks Stripe, not this script).
 */
(function () {
  "use strict";
  var form = document.querySelector("[data-pay-form]");
  if (!form) return;
  var button = form.querySelector("[data-pay-button]");
  var spinner = form.querySelector("[data-pay-spinner]");
  var label = form.querySelector("[data-pay-label]");
  var errorBox = form.querySelector("[data-pay-error]");
  var status = form.querySelector("[data-pay-status]");
  var returnUrl = form.dataset.returnUrl;
  var payLabel = label.textContent;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.focus();
  }

  function setBusy(busy) {
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    spinner.hidden = !busy;
    label.textContent = busy ? "Confirming your payment…" : payLabel;
    status.textContent = busy ? "Confirming your payment with your bank. Please keep this page open." : "";
  }

  function showFallback() {
    document.querySelector("[data-pay-fallback]").hidden = false;
    form.hidden = true;
  }

  // The shopper's own clock for how long the bottles are set aside.
  document.querySelectorAll("time[data-local-time]").forEach(function (time) {
    var at = new Date(time.getAttribute("datetime"));
    if (!isNaN(at)) time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  });

  // A reason the page was sent back with (3-D Secure failed): read it out first.
  var flashed = document.querySelector(".messages .message--error");
  if (flashed) {
    flashed.setAttribute("tabindex", "-1");
    flashed.focus();
  }

  if (typeof window.Stripe !== "function") {
    showFallback();
    return;
  }

  function toSuccessPage(intent) {
    var next = new URL(returnUrl, window.location.href);
    next.searchParams.set("payment_intent", intent.id);
    next.searchParams.set("payment_intent_client_secret", intent.client_secret);
    next.searchParams.set("redirect_status", intent.status === "succeeded" ? "succeeded" : intent.status);
    window.location.assign(next.toString());
  }

  function failed(message) {
    busy = false;
    setBusy(false);
    showError(message || "Your payment could not be completed. Please try again.");
  }

  var stripe = window.Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var payment = elements.create("payment");
  var loading = form.querySelector("[data-pay-loading]");
  if (loading) loading.remove();
  payment.mount("[data-payment-element]");
  payment.on("ready", function () { button.disabled = false; });
  payment.on("loaderror", showFallback);

  var busy = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return; // a double click confirms once
    busy = true;
    errorBox.hidden = true;
    setBusy(true);
    var confirming;
    try {
      confirming = stripe.confirmPayment({
        elements: elements,
        confirmParams: { return_url: returnUrl },
        redirect: "if_required"
      });
    } catch (error) {
      failed();
      return;
    }
    confirming
      .then(function (result) {
        var error = result.error;
        if (!error) {
          toSuccessPage(result.paymentIntent);
          return;
        }
        var intent = error.payment_intent;
        if (intent && (intent.status === "succeeded" || intent.status === "processing")) {
          // Paid already (another tab, or an answer lost on the way): the
          // success page asks Stripe.
          toSuccessPage(intent);
          return;
        }
        if (error.type === "validation_error") {
          // The Payment Element says what is wrong with its fields.
          busy = false;
          setBusy(false);
          return;
        }
        failed(error.message);
      })
      .catch(function () { failed(); });
  });
})();

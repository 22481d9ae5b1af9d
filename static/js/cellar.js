// Progressive enhancement only: every form here also works without JavaScript.
(function () {
  "use strict";

  // On a phone the header folds its menu and search behind a button.
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-menu-toggle]").forEach(function (toggle) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("is-open", open);
    });
  });

  // On a phone the listing's filters start folded, unless some are in use.
  if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    document.querySelectorAll("[data-filter-panel]:not([data-filtered])").forEach(function (panel) {
      panel.open = false;
    });
  }

  // After a refused form the focus goes to the summary of what to fix.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }

  function updateBadge(count) {
    document.querySelectorAll("[data-cart-count]").forEach(function (badge) {
      badge.textContent = count;
      badge.classList.add("is-bumped");
      setTimeout(function () { badge.classList.remove("is-bumped"); }, 250);
    });
  }

  function firstError(errors) {
    if (!errors) return "Sorry, that did not work.";
    var key = Object.keys(errors)[0];
    var value = errors[key];
    return Array.isArray(value) ? value[0] : String(value);
  }

  document.querySelectorAll("form[data-add-to-cart]").forEach(function (form) {
    var status = form.querySelector("[data-add-to-cart-status]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" },
        credentials: "same-origin"
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        status.classList.toggle("is-error", !result.ok);
        if (result.ok) {
          updateBadge(result.body.count);
          status.textContent = result.body.message || "Added to your cart.";
        } else {
          status.textContent = firstError(result.body.errors);
        }
      }).catch(function () {
        form.submit();
      }).finally(function () {
        if (button) button.disabled = false;
      });
    });
  });

  // The shop takes the card on its own page (Settings › Shop settings) where the
  // browser can run Stripe's Payment Element; without JavaScript this mark is
  // never made and the shopper pays on Stripe's hosted page.
  document.querySelectorAll("[data-payment-page]").forEach(function (input) {
    input.value = "on_page";
    // The card is taken on the next page, which has its own Pay button.
    var submit = input.form && input.form.querySelector("button[type=submit]");
    if (submit) submit.textContent = "Continue to payment";
    document.querySelectorAll("[data-pays-hosted]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("[data-pays-here]").forEach(function (el) { el.hidden = false; });
  });

  // A state select lists every delivery country's states, grouped by country;
  // with JavaScript it shows only the chosen country's, and no field at all for
  // a country that names none (the server checks the pair either way).
  document.querySelectorAll("select[name=state]").forEach(function (select) {
    var country = select.form && select.form.elements.country;
    if (!country) return;
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup[data-country]"));
    var field = select.closest(".field") || select;
    function show() {
      var chosen = groups.filter(function (group) { return group.dataset.country === country.value; });
      var keep = select.value;
      groups.forEach(function (group) { if (group.parentNode) group.remove(); });
      chosen.forEach(function (group) { select.appendChild(group); });
      select.value = chosen.length && select.querySelector("option[value='" + CSS.escape(keep) + "']") ? keep : "";
      field.hidden = !chosen.length;
      select.disabled = !chosen.length;
    }
    country.addEventListener("change", show);
    show();
  });

  // The checkout's delivery methods and totals follow the address as it is
  // chosen; without JavaScript they come with the form's next answer.
  document.querySelectorAll("form[data-checkout-form]").forEach(function (form) {
    var pending = null;
    function refresh() {
      var params = new URLSearchParams();
      ["country", "state", "shipping_method"].forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) params.set(name, field.value);
      });
      var chosen = form.querySelector("input[name=shipping_method]:checked");
      if (chosen) params.set("shipping_method", chosen.value);
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(form.dataset.quoteUrl + "?" + params.toString(), {
        headers: { "Accept": "application/json" },
        credentials: "same-origin",
        signal: pending.signal
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (parts) {
        if (!parts) return;
        var methods = form.querySelector("[data-delivery-methods]");
        if (methods) methods.outerHTML = parts.methods;
        var totals = document.querySelector("[data-checkout-totals]");
        if (totals) totals.innerHTML = parts.totals;
        var submit = form.querySelector("[data-checkout-submit]");
        if (submit && !form.querySelector("[data-payment-page]")) submit.textContent = parts.submit.trim();
      }).catch(function () { /* the form's answer will show them */ });
    }
    form.addEventListener("change", function (event) {
      var name = event.target.name;
      if (name === "country" || name === "state" || name === "shipping_method") refresh();
    });
  });
})();

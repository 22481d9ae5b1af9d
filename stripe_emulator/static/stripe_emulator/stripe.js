/*
 * A stand-in for Stripe.js (https://js.stripe.com/v3/) served by the Stripe
 * emulator, for the shop's own payment page offline. It offers what the shop
 * uses, with Stripe.js's names, promises and error shapes:
 *
 *   var stripe = Stripe(publishableKey);
 *   var elements = stripe.elements({clientSecret: clientSecret});
 *   var payment = elements.create("payment");
 *   payment.mount("#payment-element");
 *   payment.on("ready" | "change" | "focus" | "blur", handler);
 *   stripe.confirmPayment({elements, confirmParams: {return_url}, redirect})
 *     -> Promise<{paymentIntent} | {error}>
 *   stripe.retrievePaymentIntent(clientSecret)
 *     -> Promise<{paymentIntent} | {error}>
 *
 * Where Stripe's Payment Element is an iframe, this one is a few inputs in the
 * page, labelled for people and tests alike. It accepts Stripe's test cards.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = new URL("/_stripe/v1/", script ? script.src : window.location.href);
  var STYLESHEET = script ? script.src.replace(/stripe\.js(\?.*)?$/, "elements.css") : null;

  function IntegrationError(message) {
    var error = new Error(message);
    error.name = "IntegrationError";
    return error;
  }

  function intentId(clientSecret) {
    var match = /^(pi_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret || "");
    if (!match) {
      throw IntegrationError(
        "Invalid value for clientSecret: it should be a client secret of the form " +
          "${id}_secret_${secret}. You specified: " + clientSecret + "."
      );
    }
    return match[1];
  }

  function encode(params) {
    return Object.keys(params)
      .filter(function (key) { return params[key] !== undefined && params[key] !== null; })
      .map(function (key) {
        return encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
      })
      .join("&");
  }

  // Resolves with the object, or rejects with Stripe's error object.
  // At Stripe these requests carry keys, not cookies, to another origin. The
  // emulator is the shop's own origin, where a POST needs the page's CSRF token.
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : null;
  }

  function request(method, path, params) {
    var url = new URL(path, API);
    var init = { method: method, credentials: "same-origin", headers: {} };
    var token = csrfToken();
    if (method !== "GET" && token) init.headers["X-CSRFToken"] = token;
    if (method === "GET") {
      url.search = encode(params);
    } else {
      init.body = encode(params);
      init.headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    return fetch(url.toString(), init).then(
      function (response) {
        return response.json().then(
          function (body) {
            if (response.ok) return body;
            throw body.error || { type: "api_error", message: "Unexpected error." };
          },
          function () {
            throw { type: "api_error", message: "An unexpected error occurred." };
          }
        );
      },
      function () {
        throw {
          type: "api_connection_error",
          message: "We could not reach Stripe. Check your connection and try again."
        };
      }
    );
  }

  // --- The Payment Element -------------------------------------------------

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var digit = +digits[digits.length - 1 - i];
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) digit -= 9;
      }
      sum += digit;
    }
    return sum % 10 === 0;
  }

  function validationError(code, message) {
    return { type: "validation_error", code: code, message: message };
  }

  var elementCount = 0;

  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options || {};
    this._handlers = {};
    this._root = null;
    this._id = "stripe-emulator-" + ++elementCount;
  }

  PaymentElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  PaymentElement.prototype.off = function (event, handler) {
    var handlers = this._handlers[event] || [];
    this._handlers[event] = handler
      ? handlers.filter(function (h) { return h !== handler; })
      : [];
    return this;
  };

  PaymentElement.prototype._emit = function (event, payload) {
    var self = this;
    (this._handlers[event] || []).forEach(function (handler) {
      handler(Object.assign({ elementType: "payment" }, payload || {}), self);
    });
  };

  PaymentElement.prototype._field = function (name, label, attrs) {
    var id = this._id + "-" + name;
    var wrapper = document.createElement("div");
    wrapper.className = "StripeEmulator-field StripeEmulator-field--" + name;
    var labelEl = document.createElement("label");
    labelEl.htmlFor = id;
    labelEl.textContent = label;
    var input = document.createElement("input");
    input.id = id;
    input.type = "text";
    input.className = "StripeEmulator-input";
    Object.keys(attrs).forEach(function (key) { input.setAttribute(key, attrs[key]); });
    wrapper.appendChild(labelEl);
    wrapper.appendChild(input);
    return { wrapper: wrapper, input: input };
  };

  PaymentElement.prototype.mount = function (target) {
    var container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) {
      throw IntegrationError("The selector you specified (" + target + ") applies to no DOM elements.");
    }
    if (STYLESHEET && !document.querySelector("link[data-stripe-emulator]")) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = STYLESHEET;
      link.setAttribute("data-stripe-emulator", "");
      document.head.appendChild(link);
    }
    var self = this;
    var root = document.createElement("div");
    root.className = "StripeEmulator";
    var tab = document.createElement("p");
    tab.className = "StripeEmulator-tab";
    tab.textContent = "Card";
    root.appendChild(tab);
    var number = this._field("number", "Card number", {
      inputmode: "numeric",
      autocomplete: "cc-number",
      placeholder: "1234 1234 1234 1234",
      maxlength: "23"
    });
    var row = document.createElement("div");
    row.className = "StripeEmulator-row";
    var expiry = this._field("expiry", "Expiration date", {
      inputmode: "numeric",
      autocomplete: "cc-exp",
      placeholder: "MM / YY",
      maxlength: "7"
    });
    var cvc = this._field("cvc", "Security code", {
      inputmode: "numeric",
      autocomplete: "cc-csc",
      placeholder: "CVC",
      maxlength: "4"
    });
    row.appendChild(expiry.wrapper);
    row.appendChild(cvc.wrapper);
    root.appendChild(number.wrapper);
    root.appendChild(row);
    var error = document.createElement("p");
    error.className = "StripeEmulator-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    root.appendChild(error);
    var note = document.createElement("p");
    note.className = "StripeEmulator-note";
    note.textContent =
      "Stripe emulator, test mode: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is " +
      "declined; 4000 0000 0000 9995 has insufficient funds; 4000 0025 0000 3155 " +
      "asks for 3-D Secure. Any future date and any CVC.";
    root.appendChild(note);
    container.appendChild(root);
    this._root = root;
    this._inputs = { number: number.input, expiry: expiry.input, cvc: cvc.input };
    this._error = error;

    [number.input, expiry.input, cvc.input].forEach(function (input) {
      input.addEventListener("input", function () {
        self._error.hidden = true;
        var invalid = self._check(false);
        self._emit("change", {
          complete: !self._check(true),
          empty: !self._inputs.number.value && !self._inputs.expiry.value && !self._inputs.cvc.value,
          error: invalid || undefined,
          value: { type: "card" }
        });
      });
      input.addEventListener("focus", function () { self._emit("focus"); });
      input.addEventListener("blur", function () { self._emit("blur"); });
    });
    expiry.input.addEventListener("input", function () {
      var digits = expiry.input.value.replace(/\D/g, "").slice(0, 4);
      expiry.input.value = digits.length > 2 ? digits.slice(0, 2) + " / " + digits.slice(2) : digits;
    });
    window.setTimeout(function () { self._emit("ready"); }, 0);
    return this;
  };

  // The first problem with what was typed, as Stripe.js words it; ``strict``
  // also counts what is not finished yet.
  PaymentElement.prototype._check = function (strict) {
    var digits = this._inputs.number.value.replace(/\D/g, "");
    var expiry = this._inputs.expiry.value.replace(/\D/g, "");
    var cvc = this._inputs.cvc.value.replace(/\D/g, "");
    if (digits.length < 13 || digits.length > 19) {
      if (strict || digits.length > 19) {
        return validationError("incomplete_number", "Your card number is incomplete.");
      }
    } else if (!luhn(digits)) {
      return validationError("invalid_number", "Your card number is invalid.");
    }
    if (expiry.length < 4) {
      if (strict) {
        return validationError("incomplete_expiry", "Your card's expiration date is incomplete.");
      }
    } else {
      var month = +expiry.slice(0, 2);
      var year = 2000 + +expiry.slice(2, 4);
      var now = new Date();
      if (month < 1 || month > 12) {
        return validationError("invalid_expiry_month", "Your card's expiration date is incomplete.");
      }
      if (year < now.getFullYear()) {
        return validationError("invalid_expiry_year_past", "Your card's expiration year is in the past.");
      }
      if (year === now.getFullYear() && month < now.getMonth() + 1) {
        return validationError("invalid_expiry_month_past", "Your card's expiration date is in the past.");
      }
    }
    if (cvc.length < 3 && strict) {
      return validationError("incomplete_cvc", "Your card's security code is incomplete.");
    }
    return null;
  };

  PaymentElement.prototype._collect = function () {
    var expiry = this._inputs.expiry.value.replace(/\D/g, "");
    return {
      "payment_method_data[type]": "card",
      "payment_method_data[card][number]": this._inputs.number.value.replace(/\D/g, ""),
      "payment_method_data[card][exp_month]": expiry.slice(0, 2),
      "payment_method_data[card][exp_year]": expiry.slice(2, 4),
      "payment_method_data[card][cvc]": this._inputs.cvc.value.replace(/\D/g, "")
    };
  };

  PaymentElement.prototype._show = function (error) {
    this._error.textContent = error.message;
    this._error.hidden = false;
  };

  PaymentElement.prototype.focus = function () {
    if (this._inputs) this._inputs.number.focus();
  };

  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
  };

  PaymentElement.prototype.destroy = PaymentElement.prototype.unmount;

  // --- Elements --------------------------------------------------------------

  function Elements(stripe, options) {
    options = options || {};
    intentId(options.clientSecret);
    this._stripe = stripe;
    this._clientSecret = options.clientSecret;
    this._payment = null;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== "payment") {
      throw IntegrationError(
        "The Stripe emulator's Stripe.js offers only the Payment Element, not " + type + "."
      );
    }
    if (this._payment) {
      throw IntegrationError("Can only create one Element of type payment.");
    }
    this._payment = new PaymentElement(this, options);
    return this._payment;
  };

  Elements.prototype.getElement = function (type) {
    return type === "payment" ? this._payment : null;
  };

  Elements.prototype.submit = function () {
    var invalid = this._payment && this._payment._root ? this._payment._check(true) : null;
    if (invalid) this._payment._show(invalid);
    return Promise.resolve(invalid ? { error: invalid } : {});
  };

  // --- Stripe ----------------------------------------------------------------

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (typeof key !== "string" || !/^pk_(test|live)_/.test(key)) {
      throw IntegrationError("Invalid API Key provided: " + key);
    }
    this._key = key;
  }

  Stripe.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    var id = intentId(clientSecret);
    return request("GET", "payment_intents/" + id, { key: this._key, client_secret: clientSecret }).then(
      function (intent) { return { paymentIntent: intent }; },
      function (error) { return { error: error }; }
    );
  };

  function withIntent(url, intent, status) {
    var next = new URL(url, window.location.href);
    next.searchParams.set("payment_intent", intent.id);
    next.searchParams.set("payment_intent_client_secret", intent.client_secret);
    next.searchParams.set("redirect_status", status);
    return next.toString();
  }

  var never = function () { return new Promise(function () {}); };

  Stripe.prototype.confirmPayment = function (options) {
    options = options || {};
    var elements = options.elements;
    var params = options.confirmParams || {};
    var redirect = options.redirect || "always";
    if (!elements || !elements._payment || !elements._payment._root) {
      throw IntegrationError("Invalid value for confirmPayment(): elements should have a mounted Payment Element.");
    }
    if (redirect === "always" && !params.return_url) {
      throw IntegrationError("stripe.confirmPayment(): the `confirmParams.return_url` argument is required unless passing `redirect: 'if_required'`");
    }
    var element = elements._payment;
    var invalid = element._check(true);
    if (invalid) {
      element._show(invalid);
      return Promise.resolve({ error: invalid });
    }
    var secret = elements._clientSecret;
    var body = Object.assign(
      { key: this._key, client_secret: secret, return_url: params.return_url },
      element._collect()
    );
    return request("POST", "payment_intents/" + intentId(secret) + "/confirm", body).then(
      function (intent) {
        var action = intent.next_action;
        if (intent.status === "requires_action" && action && action.type === "redirect_to_url") {
          window.location.assign(action.redirect_to_url.url);
          return never();
        }
        if (redirect === "always") {
          window.location.assign(withIntent(params.return_url, intent, "succeeded"));
          return never();
        }
        return { paymentIntent: intent };
      },
      function (error) {
        return { error: error };
      }
    );
  };

  window.Stripe = Stripe;
})();

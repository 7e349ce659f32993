// The portal's few behaviours on top of htmx: waiting is visible, focus lands somewhere
// sensible after every swap, and a failed request says so in the page's alert region.
(function () {
  "use strict";

  function busy(element, on) {
    if (!element) return;
    var form = element.closest ? (element.closest("form") || element) : element;
    if (on) form.setAttribute("aria-busy", "true"); else form.removeAttribute("aria-busy");
    var buttons = form.tagName === "FORM" ? form.querySelectorAll("button[type=submit], button:not([type])") : [form];
    buttons.forEach(function (button) {
      if (button.tagName !== "BUTTON") return;
      // Disabled after the submit event, so the button's own name/value is still sent.
      if (on) setTimeout(function () { button.disabled = true; }, 0); else button.disabled = false;
      button.classList.toggle("is-busy", on);
    });
  }

  function say(text) {
    var flash = document.getElementById("flash");
    if (!flash || !text) return;
    flash.innerHTML = "";
    var p = document.createElement("p");
    p.className = "flash error";
    p.textContent = text;
    flash.appendChild(p);
  }

  // A plain form that leaves the page (Connect to Xero, sign-in): busy until the next page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    busy(form, true);
  });
  // Back to a page kept in the browser's cache: nothing is waiting any more.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[aria-busy=true]").forEach(function (element) { busy(element, false); });
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var flash = document.getElementById("flash");
    if (flash && event.detail.target !== flash) flash.innerHTML = "";
    if (event.detail.elt.closest("tr[data-outcome]")) return;  // the done page's rows run by themselves
    busy(event.detail.elt, true);
  });
  document.addEventListener("htmx:afterRequest", function (event) { busy(event.detail.elt, false); });
  document.addEventListener("htmx:responseError", function () {
    say(document.body.dataset.serverError);
  });
  document.addEventListener("htmx:sendError", function () { say(document.body.dataset.networkError); });
  document.addEventListener("htmx:timeout", function () { say(document.body.dataset.networkError); });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id === "flash") return;
    if (target.id === "main") {
      var heading = target.querySelector("h1");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      return;
    }
    // An outerHTML swap settles on the element that replaced the target.
    var swapped = target.isConnected ? target : (target.id && document.getElementById(target.id));
    if (!swapped) return;
    var table = swapped.closest("table[data-progress]");
    if (table) { progressed(table); return; }
    var active = document.activeElement;
    if (!active || active === document.body || !document.body.contains(active)) {
      // The element that had focus was swapped out: focus what replaced it.
      var next = swapped.querySelector("[autofocus], [data-focus]") || swapped;
      if (!next.matches("a, button, input, select, textarea")) next.setAttribute("tabindex", "-1");
      next.focus();
    }
  });

  // The done page: once no row is still working, the heading says the work is done.
  function progressed(table) {
    if (table.querySelector("[data-outcome=working]")) return;
    document.querySelectorAll("[data-done-text]").forEach(function (element) {
      element.textContent = element.dataset.doneText;
      element.removeAttribute("data-done-text");
    });
    var status = document.getElementById("progress-status");
    if (status) status.textContent = status.dataset.done || "";
  }
})();

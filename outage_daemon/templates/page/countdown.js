(function () {
  "use strict";
  var root = document.documentElement;
  var units = JSON.parse(root.getAttribute("data-units") || "null");
  var words = JSON.parse(root.getAttribute("data-words") || "{}");
  var lang = root.getAttribute("lang") || "en";
  var local = false;
  var fetching = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function left(to, now) { return Math.max(0, Math.floor((Date.parse(to) - now) / 1000)); }
  function text(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + units[0] + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
  }
  function section(phase) { return document.querySelector('section.phase[data-phase="' + phase + '"]'); }

  // Move a card to the phase it is in now: "upcoming" -> "current" -> "past" (or the next occurrence).
  function place(card, now) {
    var start = Date.parse(card.getAttribute("data-start")), end = Date.parse(card.getAttribute("data-end"));
    var phase = now < start ? "upcoming" : (now < end ? "current" : "past");
    if (card.classList.contains(phase)) { return false; }
    card.className = "w " + phase;
    var line = card.querySelector(".cdline");
    if (line) {
      var cd = line.querySelector(".cd"), label = line.querySelector(".cdlabel");
      if (phase === "past") { label.textContent = words.ended; cd.textContent = ""; cd.removeAttribute("data-to"); }
      else {
        label.textContent = phase === "current" ? words.back_in : words.stops_in;
        cd.setAttribute("data-to", card.getAttribute(phase === "current" ? "data-end" : "data-start"));
      }
    }
    var target = section(phase);
    if (target) {
      var list = target.querySelector(".list"), key = order(card, phase), before = null;
      list.querySelectorAll(".w").forEach(function (other) {
        if (!before && other !== card && order(other, phase) > key) { before = other; }
      });
      list.insertBefore(card, before);
    }
    return true;
  }

  // Down now: soonest back first; upcoming: soonest stop first; ended: latest end first.
  function order(card, phase) {
    var end = Date.parse(card.getAttribute("data-end"));
    return phase === "current" ? end : (phase === "past" ? -end : Date.parse(card.getAttribute("data-start")));
  }

  function empties() {
    document.querySelectorAll("section.phase").forEach(function (s) {
      s.querySelector(".empty").hidden = s.querySelectorAll(".w").length > 0;
    });
  }

  function banner() {
    var el = document.getElementById("_banner");
    if (!el) { return; }
    var live = [].filter.call(document.querySelectorAll(".w.current, .w.upcoming"), function (c) {
      return c.getAttribute("data-status") !== "cancelled";
    });
    var down = live.filter(function (c) { return c.classList.contains("current"); });
    var next = live.filter(function (c) { return c.classList.contains("upcoming"); })[0];
    var first = down[0] || next, sub = el.querySelector(".sub");
    el.className = "banner banner-" + (down.length ? "down" : (next ? "next" : "ok"));
    if (!first) {
      el.firstElementChild.textContent = words.banner_ok;
      if (sub) { sub.textContent = words.banner_none; }
      return;
    }
    var name = first.querySelector("h3").firstChild.textContent;
    el.firstElementChild.textContent = down.length ? words.banner_down.replace("{n}", down.length) :
      words.banner_next.replace("{system}", name).replace("{when}", first.querySelector(".when time").textContent);
    if (sub) {
      var cd = document.createElement("span");
      cd.className = "cd banner-cd";
      cd.setAttribute("data-to", first.getAttribute(down.length ? "data-end" : "data-start"));
      cd.textContent = text(left(cd.getAttribute("data-to"), Date.now()));
      sub.textContent = (down.length ? name + " · " + words.back_in : words.stops_in) + " ";
      sub.appendChild(cd);
    }
  }

  // Ask the server for the page as it is now; a card whose occurrence is over takes the next one,
  // its times in words (the span, the rhythm's "next") as well as its data.
  function refresh() {
    if (fetching || !window.fetch || !window.DOMParser) { return; }
    fetching = true;
    fetch(location.href.split("#")[0], { headers: { "Accept": "text/html" } }).then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html"), now = Date.now();
        document.querySelectorAll(".w[data-start]").forEach(function (card) {
          var other = fresh.getElementById(card.id);
          if (!other || other.getAttribute("data-start") === card.getAttribute("data-start") ||
              Date.parse(other.getAttribute("data-end")) <= now) { return; }
          card.setAttribute("data-start", other.getAttribute("data-start"));
          card.setAttribute("data-end", other.getAttribute("data-end"));
          [".when", ".rhythm"].forEach(function (part) {
            var mine = card.querySelector(part), theirs = other.querySelector(part);
            if (mine && theirs) {
              mine.replaceWith(document.importNode(theirs, true));
              if (local) { card.querySelectorAll(part + " time[datetime], " + part + " .off").forEach(shown); }
            }
          });
        });
      }).catch(function () { /* the page keeps counting; the next tick tries again */ })
      .then(function () { fetching = false; tick(); banner(); });
  }

  function tick() {
    var now = Date.now(), moved = false, ended = false;
    document.querySelectorAll(".w[data-start]").forEach(function (card) {
      if (card.getAttribute("data-status") === "cancelled") { return; }
      if (place(card, now)) { moved = true; ended = ended || card.classList.contains("past"); }
    });
    if (moved) { empties(); banner(); }
    if (ended) { refresh(); }
    document.querySelectorAll(".cd[data-to]").forEach(function (el) {
      el.textContent = text(left(el.getAttribute("data-to"), now));
    });
  }

  // Times: the config's zone as rendered, or the viewer's zone on request.
  function viewer(el) {
    var d = new Date(el.getAttribute("datetime"));
    var opts = el.getAttribute("data-part") === "time" ? { hour: "2-digit", minute: "2-digit", hour12: false } :
      { year: "numeric", month: "long", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit",
        hour12: false };
    return new Intl.DateTimeFormat(lang, opts).format(d);
  }
  function offset() {
    var m = -new Date().getTimezoneOffset(), sign = m < 0 ? "-" : "+";
    m = Math.abs(m);
    return "UTC" + sign + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  // Show one time (or UTC offset) in the zone chosen, keeping the rendered text to come back to.
  function shown(el) {
    if (!el.hasAttribute("data-orig")) { el.setAttribute("data-orig", el.textContent); }
    var mine = el.hasAttribute("datetime") ? viewer(el) : "(" + offset() + ")";
    el.textContent = local ? mine : el.getAttribute("data-orig");
  }
  function toggle() {
    local = !local;
    document.querySelectorAll("time[datetime], .off").forEach(shown);
    var zone = document.getElementById("_zone"), button = document.getElementById("_tz");
    if (!zone.hasAttribute("data-orig")) { zone.setAttribute("data-orig", zone.textContent); }
    var name = (Intl.DateTimeFormat().resolvedOptions().timeZone || "") + " (" + offset() + ")";
    zone.textContent = local ? name : zone.getAttribute("data-orig");
    button.textContent = button.getAttribute(local ? "data-config" : "data-local");
  }

  // Copy a feed's address; where the clipboard is not offered (plain http), select it for Ctrl+C.
  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () {
      var done = function () { b.textContent = b.getAttribute("data-done"); };
      var select = function () {
        var range = document.createRange(), selection = window.getSelection();
        range.selectNodeContents(b.previousElementSibling);
        selection.removeAllRanges();
        selection.addRange(range);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(new URL(b.getAttribute("data-url"), location.href).href).then(done, select);
      } else { select(); }
    });
  });

  var button = document.getElementById("_tz");
  if (button) { button.addEventListener("click", toggle); }
  tick();
  setInterval(tick, 1000);
  setInterval(refresh, 300000);
})();

(function () {
  var units = JSON.parse(document.documentElement.getAttribute("data-units") || "null");
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".cd").forEach(function (el) {
      var left = Math.max(0, Math.floor((Date.parse(el.getAttribute("data-to")) - now) / 1000));
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      el.textContent = (d ? d + units[0] + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

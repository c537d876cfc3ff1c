/* Draw every chart a page declares, with the vendored ECharts and no inline script.

   A page renders (templates/admin/kameng/_chart.html, options built by kameng/charts.py):
     <script type="application/json" id="X">{...ECharts option...}</script>
     <div data-chart="X" role="img" aria-label="..."></div>
   and loads static/vendor/echarts/echarts.min.js and this file (both deferred).
   The option is data only (json_script), so a Content-Security-Policy without
   'unsafe-inline' keeps working. A drawn chart gets data-chart-drawn="true". A data item with an "href"
   (a same-site link) opens it when clicked: the drill-downs of the dashboard. */
(function () {
  "use strict";

  function locale() {
    var lang = (document.documentElement.lang || "").toLowerCase();
    return lang.indexOf("zh") === 0 ? "ZH" : "EN";
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || !window.echarts) {
      return;
    }
    var option;
    try {
      option = JSON.parse(source.textContent);
    } catch (error) {
      element.setAttribute("data-chart-error", "invalid option");
      return;
    }
    // The height comes as data, not a style attribute (a strict style-src).
    element.style.height = (parseInt(element.getAttribute("data-chart-height"), 10) || 320) + "px";
    var chart = window.echarts.init(element, null, {
      renderer: "svg",
      locale: locale(),
    });
    chart.on("finished", function () {
      element.setAttribute("data-chart-drawn", "true");
    });
    chart.setOption(option);
    // Drill-down: a data item may carry the link a click opens (an "href"
    // built by the server, e.g. the same page narrowed to one category).
    chart.on("click", function (params) {
      var href = params && params.data && params.data.href;
      if (typeof href === "string" && (href.charAt(0) === "?" || /^\/[^\/]/.test(href))) {
        window.location.assign(href);
      }
    });
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        chart.resize();
      }).observe(element);
    } else {
      window.addEventListener("resize", function () {
        chart.resize();
      });
    }
  }

  function drawAll() {
    var elements = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < elements.length; i += 1) {
      draw(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();

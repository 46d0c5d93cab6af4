// Small behaviours shared by all pages; every page also works without JS.
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" checkbox for bulk-action tables: <input type="checkbox" data-select-all="name">.
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach((item) => {
        item.checked = box.checked;
      });
    });
  });
  // Filter forms in <details data-fold-on-phone open>: open without JS, folded on a phone so the results
  // (and the page's main action) are on the first screen.
  if (window.matchMedia("(max-width: 575.98px)").matches) {
    document.querySelectorAll("details[data-fold-on-phone]").forEach((details) => details.removeAttribute("open"));
  }
  // A table wider than the screen scrolls in its .table-responsive box: make the box reachable by keyboard.
  document.querySelectorAll(".table-responsive").forEach((box) => {
    if (box.scrollWidth > box.clientWidth) box.tabIndex = 0;
  });
  // Buttons that ask before a bulk change: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
  // Charts: <div class="chart" data-chart-src="id of a json_script with the ECharts option">.
  // Tooltips are drawn on the canvas (renderMode richText): ECharts' HTML tooltips carry inline
  // style attributes, which the Content-Security-Policy refuses.
  if (window.echarts) {
    document.querySelectorAll("[data-chart-src]").forEach((el) => {
      const option = JSON.parse(document.getElementById(el.dataset.chartSrc).textContent);
      if (option.tooltip) option.tooltip.renderMode = "richText";
      window.echarts.init(el).setOption(option);
    });
  }
});

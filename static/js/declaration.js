// The declaration form shows, while typing, the most hours the city's conversion rule allows.
// Rules come as JSON {year: [hours per full day, minutes per hour, rule text]} (json_script).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-declaration-form]").forEach((form) => {
    const rules = JSON.parse(document.getElementById(form.dataset.rulesSrc).textContent);
    const out = form.querySelector("[data-hours-max]");
    const field = (name) => form.querySelector(`[name="${name}"]`);
    const update = () => {
      const year = (field("ends_on").value || field("starts_on").value || "").slice(0, 4);
      const rule = rules[year];
      if (!rule) {
        out.textContent = "";
        return;
      }
      const [perDay, minutesPerHour, text] = rule;
      const days = Math.max(parseInt(field("full_days").value, 10) || 0, 0);
      const minutes = Math.max(parseInt(field("minutes").value, 10) || 0, 0);
      const most = days * perDay + Math.min(Math.floor(minutes / minutesPerHour), perDay);
      out.textContent = `${text}；${out.dataset.label}${most}`;
    };
    form.addEventListener("input", update);
    update();
  });
});

// Copies the few front-end files the portal serves from node_modules into
// static/vendor/ (git-ignored), so collectstatic handles a few hundred KB
// instead of every build variant in the packages. Run by `npm ci` (postinstall).
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

const files = {
  "bootstrap/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
  "bootstrap/css/bootstrap.min.css.map": "bootstrap/dist/css/bootstrap.min.css.map",
  "bootstrap/js/bootstrap.bundle.min.js": "bootstrap/dist/js/bootstrap.bundle.min.js",
  "bootstrap/js/bootstrap.bundle.min.js.map": "bootstrap/dist/js/bootstrap.bundle.min.js.map",
  "bootstrap-icons/bootstrap-icons.min.css": "bootstrap-icons/font/bootstrap-icons.min.css",
  "bootstrap-icons/fonts": "bootstrap-icons/font/fonts",
  "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
  "echarts/echarts.min.js": "echarts/dist/echarts.min.js",
  // Only the accessibility test loads it (tests/browser/test_phone_and_accessibility.py); no page does.
  "axe-core/axe.min.js": "axe-core/axe.min.js",
};

const target = "static/vendor";
rmSync(target, { recursive: true, force: true });
for (const [to, from] of Object.entries(files)) {
  mkdirSync(dirname(join(target, to)), { recursive: true });
  cpSync(join("node_modules", from), join(target, to), { recursive: true });
}

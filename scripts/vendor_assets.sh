#!/usr/bin/env bash
# Copies the front-end libraries installed by `npm ci` into static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=static/vendor
rm -rf "$out"; mkdir -p "$out/leaflet"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/chart.umd.min.js"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images "$out/leaflet/"
# axe-core: the accessibility checker the browser tests inject into every portal page
cp node_modules/axe-core/axe.min.js "$out/axe.min.js"
touch "$out/.stamp"

#!/usr/bin/env bash
# Fetch the map's JavaScript and CSS into assets/leaflet/ so that maps need no CDN
# (DESIGN.md §6: folium with Leaflet served locally).
#
#   scripts/fetch_leaflet.sh [DEST]      DEST defaults to assets/leaflet
#
# Uses `npm pack` only (the npm registry); nothing is installed. The files are committed,
# so this runs again only to change a version. Update assets/leaflet/README.md with it.
set -euo pipefail

LEAFLET=1.9.4
JQUERY=3.7.1
MARKERCLUSTER=1.5.3

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/assets/leaflet}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "leaflet@$LEAFLET" "jquery@$JQUERY" "leaflet.markercluster@$MARKERCLUSTER" >/dev/null
for pkg in "leaflet-$LEAFLET" "jquery-$JQUERY" "leaflet.markercluster-$MARKERCLUSTER"; do
    mkdir "$pkg"
    tar -xzf "$pkg.tgz" -C "$pkg" --strip-components=1
done

mkdir -p "$dest/images"
# Leaflet: the script, its stylesheet and the images the stylesheet and default icons use.
cp "leaflet-$LEAFLET/dist/leaflet.js" "leaflet-$LEAFLET/dist/leaflet.css" "$dest/"
cp "leaflet-$LEAFLET"/dist/images/*.png "$dest/images/"
cp "leaflet-$LEAFLET/LICENSE" "$dest/LICENSE.leaflet"
# jQuery: folium's generated script calls $ (document ready, popups).
cp "jquery-$JQUERY/dist/jquery.min.js" "$dest/"
cp "jquery-$JQUERY/LICENSE.txt" "$dest/LICENSE.jquery"
# Leaflet.markercluster: clustering of thousands of prospects.
mc="leaflet.markercluster-$MARKERCLUSTER"
cp "$mc/dist/leaflet.markercluster.js" "$mc/dist/MarkerCluster.css" \
    "$mc/dist/MarkerCluster.Default.css" "$dest/"
cp "$mc/MIT-LICENCE.txt" "$dest/LICENSE.markercluster"

find "$dest" -type d -exec chmod 755 {} +  # npm tarballs carry stray exec bits
find "$dest" -type f -exec chmod 644 {} +
echo "fetched Leaflet $LEAFLET, jQuery $JQUERY, Leaflet.markercluster $MARKERCLUSTER into $dest"
(cd "$dest" && sha256sum leaflet.js leaflet.css jquery.min.js leaflet.markercluster.js \
    MarkerCluster.css MarkerCluster.Default.css images/*.png)

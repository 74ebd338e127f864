"""The prospect map: one self-contained HTML page built with folium, no CDN.

Everything the page loads comes from ``asset_base`` (assets/leaflet/, fetched by
scripts/fetch_leaflet.sh): Leaflet 1.9.4, jQuery 3.7.1 (folium's script calls ``$``)
and Leaflet.markercluster 1.5.3. folium's own CDN links (Leaflet, Bootstrap,
Font Awesome, awesome-markers) are replaced on this map instance only, so the page
references no external URL but the configured tile source. With no tile source
(offline, DESIGN.md §6) the markers sit on a plain light background with a faint grid.

Thousands of prospects: the markers travel as one compact JSON array and are made
in the browser by one loop (folium's FastMarkerCluster approach) into a
markercluster group, with popups built on first open. Building the HTML in Python
is then a JSON dump, not one folium element per prospect (50,000 would take
seconds).

Positions are WGS-84 as stored; when the tile source draws GCJ-02 (Amap-style
tiles), ``tile_datum="gcj02"`` shifts every position for display only.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import folium
from branca.element import Element, Figure, MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template

from app.geo.coords import Datum, LatLon, wgs84_to_gcj02
from app.geo.marker import MapMarker
from app.geo.nearby import bounding_box
from app.i18n import format_distance, format_money, t
from app.services.funnel import MAIN_LINE, FunnelStatus
from app.services.palette import STATUS_COLORS, UNKNOWN_COLOR, ink_on

CENTER_HEX = "#C62828"  # the radius and its centre: the bank's red, unlike any status
BACKGROUND_HEX = "#F4F6F8"
MAX_ZOOM = 19


def build_map_html(
    *,
    center: tuple[float, float],
    radius_km: float,
    markers: Sequence[MapMarker],
    tile_url: str = "",
    attribution: str = "",
    asset_base: str = "/leaflet",
    lang: str = "zh",
    cluster: bool = True,
    center_kind: Literal["me", "outlet", "prospect"] = "me",
    center_label: str = "",
    tile_datum: Datum | str = Datum.WGS84,
    card_url: str | None = None,
) -> str:
    """The map page: the radius around ``center``, the centre, and the markers by status.

    ``asset_base`` is where assets/leaflet/ is served (``/leaflet`` in Flet web mode,
    a ``file://`` URL for a page opened from disk). ``center_kind`` is "me", "outlet"
    or "prospect" (the card's "show on the map": the prospect and its neighbours);
    ``center_label`` (e.g. the outlet's or the company's name) replaces its default label.
    ``card_url``: where a popup's "open the card" button posts ``{"prospect": id}`` (the
    web server hands it to the session's app, which opens the card; see
    ``app.web_client``); None: no button (a page opened from disk has no app behind it).
    """
    to_display = _display_transform(tile_datum)
    base = asset_base.rstrip("/")
    c_lat, c_lon = to_display(*center)

    m = folium.Map(
        location=[c_lat, c_lon],
        tiles=None,
        zoom_start=15,
        prefer_canvas=True,  # thousands of circle markers: one canvas, not SVG nodes
        control_scale=False,  # _Controls: metric only, buttons labelled in the UI's language
        zoom_control=False,
    )
    m.options["max_zoom"] = MAX_ZOOM  # markercluster needs it even with no tile layer
    # Instance attributes: folium's class-level CDN lists stay as they are for others.
    m.default_js = [("leaflet", f"{base}/leaflet.js"), ("jquery", f"{base}/jquery.min.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    page = m.get_root()
    assert isinstance(page, Figure)
    page.title = t("map.title", lang)
    # The bundled CJK font (assets/fonts, beside assets/leaflet): a device without a
    # Chinese system font would draw the names, popups and legend as boxes.
    fonts = base.rsplit("/", 1)[0] + "/fonts"
    page.header.add_child(folium.Element(_FONT_CSS.replace("{fonts}", fonts)), name="puhui_font")

    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr=attribution or html.escape(urlsplit(tile_url).hostname or tile_url),
            name=t("map.title", lang),
            max_zoom=MAX_ZOOM,
        ).add_to(m)
    else:
        _PlainGrid().add_to(m)

    if radius_km > 0:
        circle = folium.Circle(
            location=[c_lat, c_lon],
            radius=radius_km * 1000.0,  # metres
            color=CENTER_HEX,
            weight=1.5,
            fill=True,
            fill_opacity=0.04,
        )
        circle.options["interactive"] = False  # clicks go to the prospects under it
        circle.add_to(m)
        south, north, west, east = bounding_box(c_lat, c_lon, radius_km)
        m.fit_bounds([[south, west], [north, east]])

    _Controls(lang).add_to(m)
    layer = _ProspectLayer(
        markers,
        to_display=to_display,
        lang=lang,
        clustered=cluster,
        base=base,
        card_url=card_url,
    )
    layer.add_to(m)
    present = [s for s in STATUS_COLORS if s in layer.statuses_present]
    if present:
        _Legend([(STATUS_COLORS[s], t(f"funnel.{s}", lang)) for s in present]).add_to(m)

    label = center_label or t(f"map.marker.{center_kind}", lang)
    _CenterMarker(c_lat, c_lon, label, outlet=center_kind == "outlet").add_to(m)

    return page.render()


_FONT_CSS = """<style>
@font-face { font-family: "Puhui Sans"; font-weight: 400;
             src: url("{fonts}/NotoSansSC-Regular-subset.otf") format("opentype"); }
@font-face { font-family: "Puhui Sans"; font-weight: 700;
             src: url("{fonts}/NotoSansSC-Bold-subset.otf") format("opentype"); }
html body, html body .leaflet-container, html body .leaflet-control,
html body .leaflet-tooltip, html body .leaflet-popup-content {  /* above leaflet.css */
    font-family: "Puhui Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
}
</style>"""


def status_style(status: str, lang: str) -> list[object]:
    """How the page draws a status: ``[colour, label, text colour on it, funnel rank]``.

    The colour is the app's (``STATUS_COLORS``, as the legend and the status chips show
    it); the rank (the step along the main line, -1 for closed or unknown) settles
    which status colours a cluster when two are equally common.
    """
    colour = STATUS_COLORS.get(status, UNKNOWN_COLOR)
    rank = MAIN_LINE.index(FunnelStatus(status)) if status in MAIN_LINE else -1
    return [colour, t(f"funnel.{status}", lang), ink_on(colour), rank]


def write_map(path: Path | str, html_text: str) -> Path:
    """Write the page atomically (a reader never sees half a map); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html_text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _display_transform(tile_datum: Datum | str) -> Callable[[float, float], LatLon]:
    datum = Datum(tile_datum)
    if datum is Datum.WGS84:
        return lambda lat, lon: (lat, lon)
    if datum is Datum.GCJ02:
        return _gcj02_rounded
    # BD-09 tiles use Baidu's own projection, which Leaflet's Web Mercator cannot draw.
    raise ValueError(f"tiles in {datum.value} cannot be drawn; use WGS-84 or GCJ-02 tiles")


def _gcj02_rounded(lat: float, lon: float) -> LatLon:
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    return round(g_lat, 6), round(g_lon, 6)  # 0.1 m: enough, and a third of the bytes


def _script_json(value: object) -> str:
    """JSON safe inside <script>: no "</script>", no HTML entities, CJK kept as is."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class _ProspectLayer(FastMarkerCluster):
    """The prospects as one JSON array, made into circle markers by one browser loop.

    Rows are ``[lat, lon, status index, name, line, distance, id]`` with the line and
    the distance already formatted; popups are DOM built from them on first open (names
    go in as text, never as HTML), with a button that opens the prospect's card in the
    app. Clustered, the markers go into the group in one ``addLayers`` call with chunked
    loading, so the browser stays responsive; a cluster takes the colour of the status
    most of its prospects are in (a tie: the furthest along the funnel), as the legend
    shows it.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .puhui-popup table { margin-top: 4px; border-collapse: collapse; }
                .puhui-popup th { text-align: left; font-weight: normal; color: #607D8B;
                                  padding: 1px 8px 1px 0; }
                .puhui-popup button { display: block; width: 100%; min-height: 48px;
                                      margin-top: 8px; padding: 0 16px; border: 0;
                                      border-radius: 24px; background: {{ this.accent }};
                                      color: #FFFFFF; font: inherit; font-size: 15px;
                                      cursor: pointer; }
                .puhui-popup button:disabled { opacity: 0.7; cursor: default; }
                .puhui-cluster { background: transparent; }
                .puhui-cluster div { box-sizing: border-box; width: 48px; height: 48px;
                                     border-radius: 50%; padding: 5px; }
                .puhui-cluster span { display: block; width: 38px; height: 38px;
                                      border-radius: 50%; line-height: 38px;
                                      text-align: center; font-size: 14px;
                                      font-weight: 700; }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function () {
                var statuses = {{ this.get_name() }}_statuses;  // [colour, label, ink, rank]
                var labels = {{ this.get_name() }}_labels;
                var data = {{ this.get_name() }}_data;
                var cardUrl = {{ this.get_name() }}_card_url;
                function openCard(button, id) {
                    button.disabled = true;
                    button.textContent = labels.opening;
                    fetch(cardUrl, {
                        method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ prospect: id })
                    }).then(function (answer) {
                        if (!answer.ok) { throw new Error(String(answer.status)); }
                    }).catch(function () {
                        button.disabled = false;
                        button.textContent = labels.failed;
                    });
                }
                function popup(row) {
                    var box = document.createElement("div");
                    box.className = "puhui-popup";
                    var title = document.createElement("b");
                    title.textContent = row[3];
                    box.appendChild(title);
                    var table = document.createElement("table");
                    [[labels.line, row[4]], [labels.distance, row[5]],
                     [labels.status, statuses[row[2]][1]]].forEach(function (pair) {
                        if (!pair[1]) { return; }
                        var tr = table.insertRow();
                        var th = document.createElement("th");
                        th.textContent = pair[0];
                        tr.appendChild(th);
                        tr.insertCell().textContent = pair[1];
                    });
                    box.appendChild(table);
                    if (cardUrl) {
                        var button = document.createElement("button");
                        button.type = "button";
                        button.className = "puhui-open";
                        button.textContent = labels.open;
                        button.addEventListener("click", function () {
                            openCard(button, row[6]);
                        });
                        box.appendChild(button);
                    }
                    return box;
                }
                function clusterIcon(cluster) {
                    var counts = {};
                    cluster.getAllChildMarkers().forEach(function (m) {
                        counts[m.options.status] = (counts[m.options.status] || 0) + 1;
                    });
                    var best = -1;
                    Object.keys(counts).forEach(function (key) {
                        var k = Number(key);
                        if (best < 0 || counts[k] > counts[best]
                            || (counts[k] === counts[best] && statuses[k][3] > statuses[best][3])) {
                            best = k;
                        }
                    });
                    var n = cluster.getChildCount();
                    var outer = document.createElement("div");
                    outer.style.background = statuses[best][0] + "66";  // the halo: 40 %
                    outer.title = labels.cluster.replace("{count}", n);
                    outer.setAttribute("aria-label", outer.title);
                    var inner = document.createElement("span");
                    inner.style.background = statuses[best][0];
                    inner.style.color = statuses[best][2];
                    inner.textContent = n;
                    outer.appendChild(inner);
                    return L.divIcon({ html: outer, className: "puhui-cluster",
                                       iconSize: L.point(48, 48) });
                }
                // Taps land within 24 px of a marker's centre: a 48-px target on a phone.
                var renderer = L.canvas({ tolerance: 18 });
                var markers = new Array(data.length);
                for (var i = 0; i < data.length; i++) {
                    var row = data[i];
                    var marker = L.circleMarker([row[0], row[1]], {
                        radius: 6, weight: 1, color: "#FFFFFF", opacity: 0.9,
                        fillColor: statuses[row[2]][0], fillOpacity: 0.9,
                        renderer: renderer, status: row[2]
                    });
                    marker.bindPopup(popup.bind(null, row));
                    markers[i] = marker;
                }
                {%- if this.clustered %}
                var options = {{ this.options|tojavascript }};
                options.iconCreateFunction = clusterIcon;
                var layer = L.markerClusterGroup(options);
                layer.addLayers(markers);
                {%- else %}
                var layer = L.featureGroup(markers);
                {%- endif %}
                return layer;  // Layer.render adds it to the map

            })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        markers: Sequence[MapMarker],
        *,
        to_display: Callable[[float, float], LatLon],
        lang: str,
        clustered: bool,
        base: str,
        card_url: str | None,
    ) -> None:
        # The rows are made here, not by FastMarkerCluster (it validates row by row).
        super().__init__(
            data=[],
            chunked_loading=True,
            show_coverage_on_hover=False,
            max_cluster_radius=60,
            disable_clustering_at_zoom=18,
        )
        self._name = "ProspectLayer"
        self.clustered = clustered
        self.accent = CENTER_HEX
        if clustered:
            self.default_js = [("markerclusterjs", f"{base}/leaflet.markercluster.js")]
            self.default_css = [("markerclustercss", f"{base}/MarkerCluster.css")]
        else:
            self.default_js = []
            self.default_css = []

        index: dict[str, int] = {}
        statuses: list[list[object]] = []
        rows: list[list[object]] = []
        line_texts: dict[int, str] = {}  # lines repeat a lot (50,000 markers, ~100 values)
        for mk in markers:
            if not (math.isfinite(mk.lat) and math.isfinite(mk.lon)):
                continue  # no position: nothing to draw
            i = index.get(mk.status)
            if i is None:
                i = index[mk.status] = len(statuses)
                statuses.append(status_style(mk.status, lang))
            line = line_texts.get(mk.line)
            if line is None:
                line = line_texts[mk.line] = format_money(mk.line, lang) if mk.line else ""
            lat, lon = to_display(mk.lat, mk.lon)
            dist = "" if mk.distance_km is None else format_distance(mk.distance_km, lang)
            rows.append([lat, lon, i, mk.name, line, dist, mk.id])

        self.statuses_present = frozenset(index)
        self.statuses_json = _script_json(statuses)
        self.labels_json = _script_json(
            {
                "line": t("card.line", lang),
                "distance": t("map.popup.distance", lang),
                "status": t("card.status", lang),
                "open": t("map.popup.open", lang),
                "opening": t("map.popup.opening", lang),
                "failed": t("map.popup.open_failed", lang),
                "cluster": t("map.cluster", lang, count="{count}"),
            }
        )
        self.card_url_json = _script_json(card_url or "")
        self.data_json = _script_json(rows)

    def render(self, **kwargs: object) -> None:  # type: ignore[override]  # as MacroElement's
        # branca compiles every element's rendered script as a Jinja template again:
        # 3 MB of rows would cost 0.6 s, and a name holding "{{" would be evaluated.
        # So the rows go into the page verbatim, just before the layer's own script.
        figure = self.get_root()
        assert isinstance(figure, Figure)
        name = self.get_name()
        figure.script.add_child(
            _Verbatim(
                f"var {name}_statuses = {self.statuses_json};\n"
                f"var {name}_labels = {self.labels_json};\n"
                f"var {name}_card_url = {self.card_url_json};\n"
                f"var {name}_data = {self.data_json};\n"
            ),
            name=f"{name}_data",
        )
        super().render(**kwargs)


class _Verbatim(Element):
    """Text put into the page as it is: not a template, never parsed by Jinja."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text


class _PlainGrid(MacroElement):
    """No tiles: a light background and a faint 256-px grid that pans and zooms."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .leaflet-container { background: {{ this.background }}; }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new (L.GridLayer.extend({
                createTile: function () {
                    var tile = document.createElement("div");
                    tile.style.outline = "1px solid rgba(84, 110, 122, 0.12)";
                    return tile;
                }
            }))({ attribution: "" }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PlainGrid"
        self.background = BACKGROUND_HEX


class _Controls(MacroElement):
    """Zoom buttons and a metric scale, in the UI's language and big enough for a finger.

    Leaflet's own zoom buttons are 30 px with English titles, its scale shows miles and
    feet too (and "km" in a Chinese page: the scale here reads 公里 and 米, as the radius
    buttons do; Leaflet 1.9.4's own helpers draw it), its popup close button is 24 px labelled "Close popup", and its attribution
    links out of the page with an English title: each is replaced or relabelled here.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                html body .leaflet-bar a, html body .leaflet-touch .leaflet-bar a {
                    width: 48px; height: 48px; line-height: 48px; font-size: 26px; }
                html body .leaflet-touch .leaflet-control-zoom-in,
                html body .leaflet-touch .leaflet-control-zoom-out { font-size: 26px; }
                html body .leaflet-container a.leaflet-popup-close-button {
                    width: 48px; height: 48px; font-size: 24px; line-height: 44px; }
                html body .leaflet-popup-content { margin: 14px 44px 14px 16px; }
                .puhui-popup-open .puhui-legend { visibility: hidden; }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (map, labels) {
                L.control.zoom({ zoomInTitle: labels.zoomIn,
                                 zoomOutTitle: labels.zoomOut }).addTo(map);
                var scale = L.control.scale({ metric: true, imperial: false });
                scale._updateMetric = function (maxMeters) {  // "500 米", "1 公里"
                    var metres = this._getRoundNum(maxMeters);
                    var text = metres < 1000 ? labels.metres.replace("{n}", metres)
                                             : labels.km.replace("{n}", metres / 1000);
                    this._updateScale(this._mScale, text, metres / maxMeters);
                };
                scale.addTo(map);
                if (map.attributionControl) { map.attributionControl.setPrefix("Leaflet"); }
                // the legend sits above popups: out of the way while one is open
                map.on("popupclose", function () {
                    L.DomUtil.removeClass(map.getContainer(), "puhui-popup-open");
                });
                map.on("popupopen", function (e) {
                    L.DomUtil.addClass(map.getContainer(), "puhui-popup-open");
                    var close = e.popup.getElement().querySelector(
                        ".leaflet-popup-close-button");
                    if (close) {
                        close.setAttribute("aria-label", labels.close);
                        close.title = labels.close;
                    }
                });
            })({{ this._parent.get_name() }}, {{ this.labels_json }});
        {% endmacro %}
        """
    )

    def __init__(self, lang: str) -> None:
        super().__init__()
        self._name = "Controls"
        self.labels_json = _script_json(
            {
                "zoomIn": t("map.zoom_in", lang),
                "zoomOut": t("map.zoom_out", lang),
                "close": t("common.close", lang),
                "metres": t("map.scale.m", lang, n="{n}"),
                "km": t("map.scale.km", lang, n="{n}"),
            }
        )


class _Legend(MacroElement):
    """The status colours present on the map, bottom right."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .puhui-legend { background: rgba(255, 255, 255, 0.92); padding: 6px 8px;
                                border-radius: 4px; line-height: 18px; font-size: 12px;
                                box-shadow: 0 1px 4px rgba(0, 0, 0, 0.2); }
                .puhui-legend i { display: inline-block; width: 10px; height: 10px;
                                  border-radius: 50%; margin-right: 6px; }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({ position: "bottomright" });
            {{ this.get_name() }}.onAdd = function () {
                var box = L.DomUtil.create("div", "puhui-legend");
                {{ this.entries_json }}.forEach(function (entry) {
                    var row = L.DomUtil.create("div", "", box);
                    var dot = L.DomUtil.create("i", "", row);
                    dot.style.background = entry[0];
                    row.appendChild(document.createTextNode(entry[1]));
                });
                return box;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.entries_json = _script_json(entries)


class _CenterMarker(MacroElement):
    """The centre of the search (me, or the outlet): a DOM marker above every prospect.

    A DOM marker, not a circle marker: a second canvas for it would swallow the
    clicks meant for the prospects' canvas below.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                .puhui-center { background: {{ this.colour }}; border: 3px solid #FFFFFF;
                                border-radius: 50%; box-sizing: border-box;
                                box-shadow: 0 0 4px rgba(0, 0, 0, 0.5); }
            </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.marker({{ this.location_json }}, {
                icon: L.divIcon({ className: "puhui-center",
                                  iconSize: [{{ this.size }}, {{ this.size }}] }),
                zIndexOffset: 10000, keyboard: false
            }).bindTooltip({{ this.get_name() }}_label, { direction: "top" })
              .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, lat: float, lon: float, label: str, *, outlet: bool) -> None:
        super().__init__()
        self._name = "CenterMarker"
        self.location_json = _script_json([lat, lon])
        self.size = 20 if outlet else 16  # px
        self.colour = CENTER_HEX
        self.label = label

    def render(self, **kwargs: object) -> None:  # type: ignore[override]  # as MacroElement's
        # The label (an outlet's name) goes in as text, verbatim: see _ProspectLayer.render.
        label_js = _script_json(html.escape(self.label))
        figure = self.get_root()
        assert isinstance(figure, Figure)
        figure.script.add_child(
            _Verbatim(f"var {self.get_name()}_label = {label_js};"),
            name=f"{self.get_name()}_label",
        )
        super().render(**kwargs)

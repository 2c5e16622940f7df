// flou viewer: a MapLibre map of the server's vector tiles, with filters, an agent token,
// a legend read from the style and popups. Data from tiles is only ever written as text
// (textContent), never parsed as HTML.
(function () {
  'use strict';

  // The four tile layers; each style layer belongs to the group of its source-layer.
  var LAYER_GROUPS = ['aggregates', 'blurred', 'boundaries', 'observations'];
  // Layers whose features get a popup on click (boundaries are for orientation only).
  var POPUP_GROUPS = ['observations', 'blurred', 'aggregates'];
  var SOURCE_ID = 'flou';
  var MAX_POPUP_FEATURES = 6;

  var state = {
    map: null,
    style: null,
    tileJson: null,
    // The TileJSON tile URL template, absolute, without our query string.
    tileTemplate: null,
    tileOrigin: null,
    token: '',
    filters: { taxon: '', from: '', to: '', dataset: '' },
    // Bumped on every change of token or filters: part of every tile URL, so neither the
    // browser nor any cache in between can hand back a tile fetched under other rights.
    rights: 0,
    // The `rights` value whose tiles were refused with 401, or -1.
    refusedRights: -1,
    lastTileStatus: null
  };

  var el = function (id) { return document.getElementById(id); };

  function setStatus(text, isError) {
    var node = el('status');
    node.textContent = text;
    node.classList.toggle('error', Boolean(isError));
  }

  function fetchJson(path) {
    return fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(path + ' answered HTTP ' + response.status);
        }
        return response.json();
      });
  }

  // ---- query string and tile URLs -------------------------------------------------------

  function filterQuery() {
    var params = new URLSearchParams();
    var f = state.filters;
    if (f.taxon) params.set('taxon', f.taxon);
    if (f.from) params.set('from', f.from);
    if (f.to) params.set('to', f.to);
    if (f.dataset) params.set('dataset', f.dataset);
    // `v` is the cache-busting parameter the tile server accepts and ignores.
    if (state.rights > 0) params.set('v', String(state.rights));
    return params.toString();
  }

  // Appends the query without touching the {z}/{x}/{y} placeholders (URL() would
  // percent-encode the braces).
  function withQuery(template, query) {
    if (!query) return template;
    return template + (template.indexOf('?') === -1 ? '?' : '&') + query;
  }

  function absoluteTemplate(template) {
    if (/^https?:\/\//i.test(template)) return template;
    if (template.charAt(0) === '/') return location.origin + template;
    return location.origin + '/' + template;
  }

  function originOf(template) {
    var match = /^(https?:\/\/[^/?#]+)/i.exec(template);
    return match ? match[1].toLowerCase() : location.origin.toLowerCase();
  }

  function tileUrls() {
    return [withQuery(state.tileTemplate, filterQuery())];
  }

  function sourceSpec() {
    var tileJson = state.tileJson;
    var source = { type: 'vector', tiles: tileUrls() };
    ['minzoom', 'maxzoom', 'bounds', 'attribution', 'scheme'].forEach(function (key) {
      if (tileJson[key] !== undefined) source[key] = tileJson[key];
    });
    return source;
  }

  // Drops every tile fetched under the previous token or filters and loads the view again.
  // source.setTiles() is not enough: while the new tiles load, and when they fail (a refused
  // token), MapLibre keeps drawing the tiles it already had, i.e. data of the previous
  // rights. Removing the source and its layers discards them all.
  function refreshTiles() {
    var map = state.map;
    if (!map || !map.getSource(SOURCE_ID)) return;
    var layers = map.getStyle().layers;
    var ours = layers.filter(function (layer) { return layer.source === SOURCE_ID; });
    // Each of our layers goes back before the first other layer that followed it.
    var before = {};
    ours.forEach(function (layer) {
      var index = layers.indexOf(layer);
      var next = layers.slice(index + 1).find(function (l) { return l.source !== SOURCE_ID; });
      before[layer.id] = next ? next.id : undefined;
    });
    ours.forEach(function (layer) { map.removeLayer(layer.id); });
    map.removeSource(SOURCE_ID);
    map.addSource(SOURCE_ID, sourceSpec());
    ours.forEach(function (layer) { map.addLayer(layer, before[layer.id]); });
  }

  // The Authorization header goes only on tile requests to the tile server, never on
  // the style, TileJSON or anything else.
  function transformRequest(url, resourceType) {
    if (resourceType === 'Tile' && state.token && state.tileOrigin &&
        url.toLowerCase().indexOf(state.tileOrigin + '/') === 0) {
      return { url: url, headers: { Authorization: 'Bearer ' + state.token } };
    }
    return { url: url };
  }

  function rightsOfUrl(url) {
    var match = /[?&]v=(\d+)/.exec(url || '');
    return match ? Number(match[1]) : 0;
  }

  // ---- filters -----------------------------------------------------------------------------

  var DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  function readFilterForm() {
    var form = el('filters');
    var taxon = form.elements.taxon.value.trim();
    var from = form.elements.from.value.trim();
    var to = form.elements.to.value.trim();
    var dataset = form.elements.dataset.value.trim();
    if (taxon && !/^[1-9][0-9]{0,9}$/.test(taxon)) {
      return { error: 'Taxon must be a cd_ref number (digits only).' };
    }
    if (from && !DATE_RE.test(from)) return { error: 'From must be a date YYYY-MM-DD.' };
    if (to && !DATE_RE.test(to)) return { error: 'To must be a date YYYY-MM-DD.' };
    if (from && to && from > to) return { error: 'From is after To.' };
    return { filters: { taxon: taxon, from: from, to: to, dataset: dataset } };
  }

  function writeFilterForm(filters) {
    var form = el('filters');
    form.elements.taxon.value = filters.taxon;
    form.elements.from.value = filters.from;
    form.elements.to.value = filters.to;
    form.elements.dataset.value = filters.dataset;
  }

  function applyFilters(filters) {
    state.filters = filters;
    state.rights += 1;
    refreshTiles();
  }

  function onFilterSubmit(event) {
    event.preventDefault();
    var result = readFilterForm();
    var errorNode = el('filter-error');
    if (result.error) {
      errorNode.textContent = result.error;
      errorNode.hidden = false;
      return;
    }
    errorNode.hidden = true;
    applyFilters(result.filters);
  }

  function onFilterReset() {
    var empty = { taxon: '', from: '', to: '', dataset: '' };
    writeFilterForm(empty);
    el('filter-error').hidden = true;
    applyFilters(empty);
  }

  // ---- token ---------------------------------------------------------------------------------

  function showTokenRefused(text) {
    var node = el('token-refused');
    node.textContent = text;
    node.hidden = false;
    el('rights').textContent = 'Tiles refused for this token: nothing is shown until it is fixed or cleared.';
  }

  function setToken(raw) {
    // JWTs contain no whitespace; people paste them with line breaks or a "Bearer " prefix.
    var token = String(raw || '').replace(/^\s*bearer\s+/i, '').replace(/\s+/g, '');
    el('token-refused').hidden = true;
    state.token = '';
    if (token && /[^\x21-\x7e]/.test(token)) {
      // A header cannot carry these characters; the request would fail before the server.
      state.rights += 1;
      state.refusedRights = state.rights;
      showTokenRefused('token refused: it contains characters no JWT has.');
      refreshTiles();
      return;
    }
    state.token = token;
    state.rights += 1;
    state.refusedRights = -1;
    el('rights').textContent = token ? 'Agent view: token sent with tile requests, checking…' : 'Public view';
    refreshTiles();
  }

  function onTokenSubmit(event) {
    event.preventDefault();
    setToken(el('token').value);
  }

  function onTokenClear() {
    el('token').value = '';
    setToken('');
  }

  // ---- layer toggles --------------------------------------------------------------------------

  function styleLayersOf(group) {
    return state.style.layers.filter(function (layer) {
      return layer['source-layer'] === group;
    }).map(function (layer) { return layer.id; });
  }

  function setGroupVisible(group, visible) {
    styleLayersOf(group).forEach(function (id) {
      state.map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
    });
  }

  function visibleLayerIds(groups) {
    var map = state.map;
    var ids = [];
    groups.forEach(function (group) {
      styleLayersOf(group).forEach(function (id) {
        if (map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none') ids.push(id);
      });
    });
    return ids;
  }

  // ---- legend -----------------------------------------------------------------------------------

  var COLOR_PAINT = { fill: 'fill-color', line: 'line-color', circle: 'circle-color' };

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function swatch(type, color, opacity) {
    var node = make('span', 'swatch swatch-' + type);
    if (type === 'line') {
      node.style.borderTopColor = color;
    } else {
      node.style.backgroundColor = color;
    }
    if (opacity !== undefined && typeof opacity === 'number') node.style.opacity = String(opacity);
    return node;
  }

  function legendItem(type, color, opacity, label) {
    var item = make('li');
    item.appendChild(swatch(type, color, opacity));
    item.appendChild(make('span', 'label', label));
    return item;
  }

  // Reads the colour expression of a style layer: a constant, a match on a property
  // (one swatch per value, the fallback labelled "*" in the layer's legend labels) or a
  // linear interpolation (a gradient with its stops).
  function legendForLayer(layer) {
    var meta = layer.metadata || {};
    var title = meta['flou:legend'];
    if (!title) return null;
    var labels = meta['flou:legend-labels'] || {};
    var paint = layer.paint || {};
    var color = paint[COLOR_PAINT[layer.type]];
    var opacity = paint[layer.type + '-opacity'];
    if (typeof color === 'string') {
      var row = make('div', 'legend-inline');
      row.appendChild(swatch(layer.type, color, opacity));
      row.appendChild(make('span', 'label', title));
      return row;
    }
    var block = make('div', 'legend-block');
    block.appendChild(make('div', 'legend-title', title));
    var list = make('ul', 'legend-items');
    if (Array.isArray(color) && color[0] === 'match') {
      for (var i = 2; i + 1 < color.length; i += 2) {
        var value = String(color[i]);
        list.appendChild(legendItem(layer.type, color[i + 1], opacity, labels[value] || value));
      }
      // [match, input, value, colour, ..., fallback]: an odd length has a fallback.
      if (color.length % 2 === 1 && labels['*']) {
        list.appendChild(legendItem(layer.type, color[color.length - 1], opacity, labels['*']));
      }
    } else if (Array.isArray(color) && color[0] === 'interpolate') {
      var stops = [];
      for (var j = 3; j + 1 < color.length; j += 2) stops.push({ at: color[j], color: color[j + 1] });
      var bar = make('div', 'gradient');
      bar.style.backgroundImage = 'linear-gradient(to right, ' + stops.map(function (s, k) {
        return s.color + ' ' + Math.round(100 * k / Math.max(1, stops.length - 1)) + '%';
      }).join(', ') + ')';
      if (typeof opacity === 'number') bar.style.opacity = String(opacity);
      var ticks = make('div', 'gradient-ticks');
      stops.forEach(function (s) { ticks.appendChild(make('span', '', String(s.at))); });
      block.appendChild(bar);
      block.appendChild(ticks);
      return block;
    }
    block.appendChild(list);
    return block;
  }

  function buildLegend(style) {
    var legend = el('legend');
    legend.textContent = '';
    style.layers.forEach(function (layer) {
      var block = legendForLayer(layer);
      if (block) legend.appendChild(block);
    });
  }

  // ---- popups ---------------------------------------------------------------------------------

  var GROUP_TITLES = {
    observations: 'Observation',
    blurred: 'Hidden observations (blurred area)',
    aggregates: 'Aggregate'
  };

  function featureNode(feature) {
    var group = feature.sourceLayer;
    var box = make('div', 'popup-feature');
    var props = feature.properties || {};
    // A point group of a dense tile: its count, no member's details.
    var title = group === 'observations' && props.observations !== undefined
      ? props.observations + ' observations here — zoom in to see each'
      : GROUP_TITLES[group] || group;
    box.appendChild(make('div', 'popup-title', title));
    var dl = make('dl');
    Object.keys(props).forEach(function (key) {
      dl.appendChild(make('dt', '', key));
      dl.appendChild(make('dd', '', String(props[key])));
    });
    box.appendChild(dl);
    return box;
  }

  function onMapClick(event) {
    var map = state.map;
    var layers = visibleLayerIds(POPUP_GROUPS);
    if (layers.length === 0) return;
    var p = event.point;
    var features = map.queryRenderedFeatures([[p.x - 4, p.y - 4], [p.x + 4, p.y + 4]], { layers: layers });
    // One entry per feature: fill and outline layers return the same feature twice.
    var seen = {};
    var unique = features.filter(function (f) {
      var key = f.sourceLayer + '|' + JSON.stringify(f.properties);
      if (seen[key]) return false;
      seen[key] = true;
      return true;
    });
    if (unique.length === 0) return;
    var content = make('div', 'popup');
    unique.slice(0, MAX_POPUP_FEATURES).forEach(function (f) { content.appendChild(featureNode(f)); });
    if (unique.length > MAX_POPUP_FEATURES) {
      content.appendChild(make('p', 'popup-more', '+ ' + (unique.length - MAX_POPUP_FEATURES) + ' more here'));
    }
    new maplibregl.Popup({ maxWidth: '340px' }).setLngLat(event.lngLat).setDOMContent(content).addTo(map);
  }

  // ---- start -----------------------------------------------------------------------------------

  function initialView(tileJson) {
    var params = new URLSearchParams(location.search);
    var center = Array.isArray(tileJson.center) ? tileJson.center : [2.5, 46.6, 5];
    var lon = Number(params.get('lon'));
    var lat = Number(params.get('lat'));
    var z = Number(params.get('z'));
    return {
      center: [
        params.has('lon') && isFinite(lon) ? lon : Number(center[0]),
        params.has('lat') && isFinite(lat) ? lat : Number(center[1])
      ],
      zoom: params.has('z') && isFinite(z) ? z : Number(center[2] !== undefined ? center[2] : 5)
    };
  }

  function initialFilters() {
    var params = new URLSearchParams(location.search);
    return {
      taxon: params.get('taxon') || '',
      from: params.get('from') || '',
      to: params.get('to') || '',
      dataset: params.get('dataset') || ''
    };
  }

  function wireControls() {
    document.querySelectorAll('input[data-layer-group]').forEach(function (box) {
      box.addEventListener('change', function () {
        setGroupVisible(box.getAttribute('data-layer-group'), box.checked);
      });
    });
    el('filters').addEventListener('submit', onFilterSubmit);
    el('filters-reset').addEventListener('click', onFilterReset);
    el('token-form').addEventListener('submit', onTokenSubmit);
    el('token-clear').addEventListener('click', onTokenClear);
  }

  function onMapError(event) {
    var error = event && event.error;
    var status = error && error.status;
    var url = (error && error.url) || '';
    if (event.sourceId === SOURCE_ID || /\/tiles\//.test(url)) {
      state.lastTileStatus = status || null;
      // A late answer to a request made under earlier rights says nothing about now.
      if (url && rightsOfUrl(url) !== state.rights) return;
      if (status === 401) {
        state.refusedRights = state.rights;
        showTokenRefused('token refused (HTTP 401): the server did not accept this token.');
        return;
      }
    }
    setStatus('Map error: ' + ((error && error.message) || 'unknown'), true);
  }

  function onIdle() {
    if (state.token && state.refusedRights !== state.rights) {
      el('rights').textContent = 'Agent view: token accepted.';
    }
    var z = state.map.getZoom();
    var shown = z < 7 ? 'department aggregates' : z < 10 ? '10 km aggregates and blurred areas'
      : 'blurred areas and precise observations';
    if (!el('status').classList.contains('error')) {
      setStatus('Zoom ' + z.toFixed(1) + ': ' + shown + '.', false);
    }
    document.documentElement.setAttribute('data-viewer', 'idle');
  }

  function start() {
    if (typeof maplibregl === 'undefined') {
      setStatus('MapLibre did not load (/assets/vendor/maplibre-gl.js).', true);
      return;
    }
    wireControls();
    state.filters = initialFilters();
    writeFilterForm(state.filters);
    setStatus('Loading style and tiles…', false);
    Promise.all([fetchJson('/styles/flou.json'), fetchJson('/tiles.json')]).then(function (loaded) {
      var style = loaded[0];
      var tileJson = loaded[1];
      if (!Array.isArray(tileJson.tiles) || typeof tileJson.tiles[0] !== 'string') {
        throw new Error('/tiles.json has no tiles URL');
      }
      state.style = style;
      state.tileJson = tileJson;
      state.tileTemplate = absoluteTemplate(tileJson.tiles[0]);
      state.tileOrigin = originOf(state.tileTemplate);
      // The source is given the TileJSON already fetched, with the filter query on the
      // tile URL, so the first tiles requested are already the filtered ones.
      style.sources[SOURCE_ID] = sourceSpec();
      buildLegend(style);
      var view = initialView(tileJson);
      var map = new maplibregl.Map({
        container: 'map',
        style: style,
        center: view.center,
        zoom: view.zoom,
        maxZoom: 18,
        transformRequest: transformRequest,
        attributionControl: { compact: true },
        // The test reads pixels back from the page; keeping the buffer costs little here.
        preserveDrawingBuffer: true
      });
      state.map = map;
      map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
      map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
      map.on('error', onMapError);
      map.on('idle', onIdle);
      map.on('click', onMapClick);
      map.on('mousemove', function (event) {
        var layers = visibleLayerIds(POPUP_GROUPS);
        var hits = layers.length ? map.queryRenderedFeatures(event.point, { layers: layers }) : [];
        map.getCanvas().style.cursor = hits.length ? 'pointer' : '';
      });
    }).catch(function (error) {
      setStatus('Could not start the map: ' + error.message, true);
    });
  }

  // For the browser test and for debugging from the console.
  window.flou = {
    state: state,
    get map() { return state.map; },
    layerGroups: LAYER_GROUPS,
    styleLayersOf: function (group) { return styleLayersOf(group); },
    setToken: setToken,
    applyFilters: applyFilters
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());

// flou dashboard for an ORB: a choropleth of one indicator per unit (GeoJSON from
// /indicators/{name}?format=geojson), observations per year and taxonomic group
// (/indicators/observations?unit=all&by=year,group), and the table with a CSV download.
// Everything comes from this server; values are written as text (textContent) only.
(function () {
  'use strict';

  // The value each map indicator is coloured by.
  var VALUE_OF = {
    observations: 'observations',
    richness: 'richness',
    pressure: 'days',
    'precise-share': 'share'
  };
  var COLOURS = ['#f7fcf5', '#c7e9c0', '#74c476', '#31a354', '#006d2c'];
  var SERIES_COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02',
    '#a6761d', '#666666', '#1f78b4', '#b2df8a'];

  var el = function (id) { return document.getElementById(id); };
  var state = { map: null, geojson: null, table: null, series: null, csvUrl: null, loads: 0 };
  window.flouDashboard = state;

  function setStatus(text, isError) {
    el('status').textContent = text;
    el('status').classList.toggle('error', Boolean(isError));
  }

  function headers() {
    var token = el('token').value.trim();
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  function query(extra) {
    var p = new URLSearchParams(extra);
    if (el('from').value) p.set('from', el('from').value);
    if (el('to').value) p.set('to', el('to').value);
    return p.toString();
  }

  function get(path, asText) {
    return fetch(path, { headers: headers(), credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (e) {
          throw new Error(path.split('?')[0] + ': HTTP ' + r.status + ' ' + (e.error || ''));
        }, function () { throw new Error(path + ': HTTP ' + r.status); });
      }
      return asText ? r.text() : r.json();
    });
  }

  // ---- map ------------------------------------------------------------------------------

  function initMap() {
    state.map = new maplibregl.Map({
      container: 'map',
      style: {
        version: 8,
        sources: {},
        layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }]
      },
      center: [6.0, 45.0],
      zoom: 6,
      attributionControl: false
    });
    state.mapReady = new Promise(function (resolve) { state.map.on('load', resolve); });
  }

  function breaks(values) {
    var max = values.reduce(function (m, v) { return Math.max(m, v); }, 0);
    if (max <= 0) return [0, 1, 2, 3];
    return [1, 2, 3, 4].map(function (k) { return (max * k) / 5; });
  }

  function drawMap(geojson, valueKey) {
    var map = state.map;
    var values = geojson.features.map(function (f) { return Number(f.properties[valueKey]) || 0; });
    var b = breaks(values);
    var colour = ['step', ['to-number', ['get', valueKey]], COLOURS[0],
      b[0], COLOURS[1], b[1], COLOURS[2], b[2], COLOURS[3], b[3], COLOURS[4]];
    if (map.getSource('indicator')) {
      map.getSource('indicator').setData(geojson);
      map.setPaintProperty('indicator-fill', 'fill-color', colour);
    } else {
      map.addSource('indicator', { type: 'geojson', data: geojson });
      map.addLayer({ id: 'indicator-fill', type: 'fill', source: 'indicator',
        paint: { 'fill-color': colour, 'fill-opacity': 0.85 } });
      map.addLayer({ id: 'indicator-line', type: 'line', source: 'indicator',
        paint: { 'line-color': '#555', 'line-width': 0.6 } });
      map.on('click', 'indicator-fill', function (e) {
        var p = e.features[0].properties;
        var div = document.createElement('div');
        div.textContent = p.name + ' (' + p.code + '): ' + valueKey + ' ' + p[valueKey];
        new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(div).addTo(map);
      });
    }
    var box = null;
    geojson.features.forEach(function (f) {
      var g = f.geometry;
      var polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
      polys.forEach(function (poly) {
        poly[0].forEach(function (c) {
          if (!box) box = [c[0], c[1], c[0], c[1]];
          box = [Math.min(box[0], c[0]), Math.min(box[1], c[1]), Math.max(box[2], c[0]), Math.max(box[3], c[1])];
        });
      });
    });
    if (box) map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 20, duration: 0 });
  }

  // ---- table ----------------------------------------------------------------------------

  function drawTable(answer) {
    var thead = el('table').tHead;
    var tbody = el('table').tBodies[0];
    thead.textContent = '';
    tbody.textContent = '';
    var tr = document.createElement('tr');
    answer.columns.forEach(function (c) {
      var th = document.createElement('th');
      th.textContent = c;
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    answer.rows.forEach(function (row) {
      var r = document.createElement('tr');
      answer.columns.forEach(function (c) {
        var td = document.createElement('td');
        td.textContent = row[c] === null || row[c] === undefined ? '' : String(row[c]);
        td.dataset.column = c;
        if (typeof row[c] === 'number') td.className = 'num';
        r.appendChild(td);
      });
      tbody.appendChild(r);
    });
    var np = answer.not_placed || {};
    var parts = Object.keys(np).map(function (k) { return k.replace(/_/g, ' ') + ': ' + np[k]; });
    el('not-placed').textContent = parts.length
      ? 'Not placed at this unit — ' + parts.join(', ')
      : 'Every visible observation is placed at this unit.';
  }

  // ---- time series ----------------------------------------------------------------------

  function drawSeries(answer) {
    var svg = el('series');
    var legend = el('series-legend');
    svg.textContent = '';
    legend.textContent = '';
    var byGroup = {};
    var years = [];
    answer.rows.forEach(function (r) {
      var g = r.group || '(no group)';
      (byGroup[g] = byGroup[g] || {})[r.year] = (byGroup[g][r.year] || 0) + r.observations;
      if (years.indexOf(r.year) < 0) years.push(r.year);
    });
    years.sort(function (a, b) { return a - b; });
    var groups = Object.keys(byGroup).sort();
    state.series = { years: years, byGroup: byGroup };
    if (!years.length) return;
    var W = 340, H = 200, L = 36, B = 20;
    var maxV = 1;
    groups.forEach(function (g) { years.forEach(function (y) { maxV = Math.max(maxV, byGroup[g][y] || 0); }); });
    var x = function (y) { return years.length === 1 ? L + (W - L) / 2 : L + ((y - years[0]) / (years[years.length - 1] - years[0])) * (W - L - 6); };
    var yv = function (v) { return H - B - (v / maxV) * (H - B - 8); };
    var NS = 'http://www.w3.org/2000/svg';
    var axis = document.createElementNS(NS, 'path');
    axis.setAttribute('d', 'M' + L + ' 4 V' + (H - B) + ' H' + W);
    axis.setAttribute('stroke', '#888');
    axis.setAttribute('fill', 'none');
    svg.appendChild(axis);
    [[years[0], L], [years[years.length - 1], W - 30]].forEach(function (t) {
      var text = document.createElementNS(NS, 'text');
      text.setAttribute('x', t[1]); text.setAttribute('y', H - 4); text.setAttribute('font-size', '10');
      text.textContent = String(t[0]);
      svg.appendChild(text);
    });
    var top = document.createElementNS(NS, 'text');
    top.setAttribute('x', 2); top.setAttribute('y', 12); top.setAttribute('font-size', '10');
    top.textContent = String(maxV);
    svg.appendChild(top);
    groups.forEach(function (g, i) {
      var colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
      var d = years.map(function (y, k) { return (k ? 'L' : 'M') + x(y).toFixed(1) + ' ' + yv(byGroup[g][y] || 0).toFixed(1); }).join(' ');
      var path = document.createElementNS(NS, 'path');
      path.setAttribute('d', d);
      path.setAttribute('stroke', colour);
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke-width', '1.5');
      var total = years.reduce(function (s, y) { return s + (byGroup[g][y] || 0); }, 0);
      path.dataset.group = g;
      path.dataset.total = String(total);
      svg.appendChild(path);
      var li = document.createElement('li');
      var sw = document.createElement('span');
      sw.style.background = colour;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(g + ' (' + total + ')'));
      legend.appendChild(li);
    });
  }

  // ---- loading --------------------------------------------------------------------------

  function load() {
    var indicator = el('indicator').value;
    var unit = el('unit').value;
    var base = '/indicators/' + encodeURIComponent(indicator) + '?';
    setStatus('Loading…');
    var done = Promise.all([
      get(base + query({ unit: unit })),
      get(base + query({ unit: unit, format: 'geojson' })),
      get('/indicators/observations?' + query({ unit: 'all', by: 'year,group' })),
      get(base + query({ unit: unit, format: 'csv' }), true),
      state.mapReady
    ]).then(function (res) {
      state.table = res[0];
      state.geojson = res[1];
      drawTable(res[0]);
      drawMap(res[1], VALUE_OF[indicator]);
      drawSeries(res[2]);
      if (state.csvUrl) URL.revokeObjectURL(state.csvUrl);
      state.csvUrl = URL.createObjectURL(new Blob([res[3]], { type: 'text/csv' }));
      var a = el('csv');
      a.href = state.csvUrl;
      a.download = indicator + '-' + unit.replace(':', '') + '.csv';
      setStatus(res[0].rows.length + ' units, ' + res[0].placed + ' observations placed');
      state.loads += 1;
      document.body.dataset.loaded = String(state.loads);
    }).catch(function (e) {
      setStatus(e.message, true);
      state.loads += 1;
      document.body.dataset.loaded = String(state.loads);
    });
    return done;
  }

  initMap();
  el('controls').addEventListener('submit', function (e) { e.preventDefault(); load(); });
  el('indicator').addEventListener('change', load);
  el('unit').addEventListener('change', load);
  load();
}());

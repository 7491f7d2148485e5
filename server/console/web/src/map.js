// The map page: incident clusters from /map/incidents that expand as you
// zoom, markers styled by kind, a popup with the whole record and its
// history, filters kept in the URL, the zone layers, a heat layer per grid
// cell, and patrol tracks of a day and team played back along time.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import * as api from './api.js';
import { h, clear } from './dom.js';
import { t, name, num, yuan, dateTime, time } from './i18n.js';

export const kinds = ['expulsion', 'grazing', 'vehicle', 'confiscation', 'case'];
export const kindColor = {
  expulsion: '#1d6fb8',
  grazing: '#8a5a2b',
  vehicle: '#e07b00',
  confiscation: '#7b3fb0',
  case: '#c62828',
  patrol: '#2e7d32',
};
const trackColors = ['#2e7d32', '#00838f', '#6a1b9a', '#ef6c00', '#ad1457', '#283593'];

// The reservoir's centre and the zoom that shows it whole.
const home = { center: [40.56, 116.98], zoom: 11 };

function nextDay(d) {
  const x = new Date(d + 'T00:00:00Z');
  x.setUTCDate(x.getUTCDate() + 1);
  return x.toISOString().slice(0, 10);
}

// filterQuery turns the page's filters (inclusive dates) into API parameters.
export function filterQuery(f) {
  return {
    from: f.from,
    to: f.to ? nextDay(f.to) : '',
    kind: f.kinds.length ? f.kinds : kinds,
    zone: f.zone,
    unit: f.unit,
    campaign: f.campaign,
  };
}

export function mount(el, ctx) {
  const q = ctx.route.params;
  const f = {
    from: q.get('from') || '',
    to: q.get('to') || '',
    kinds: (q.get('kind') || '').split(',').filter((k) => kinds.includes(k)),
    zone: q.get('zone') || '',
    unit: q.get('unit') || '',
    campaign: q.get('campaign') || '',
  };
  const view = {
    heat: q.get('heat') === '1',
    grid: q.get('grid') === '1',
    record: q.get('record') || '',
    day: q.get('day') || '',
    tunit: q.get('tunit') || '',
  };
  const units = new Map();
  let alive = true;
  const objectURLs = [];

  const mapEl = h('div.map#map');
  const inview = h('strong#inview', '…');
  const side = h('aside.side');
  clear(el, h('div.mapwrap', side, mapEl));
  el.classList.add('full');

  const map = L.map(mapEl, { zoomControl: true, preferCanvas: false, attributionControl: true });
  const c = (q.get('c') || '').split(',').map(Number);
  map.setView(c.length === 2 && c.every(Number.isFinite) ? c : home.center, Number(q.get('z')) || home.zoom);
  map.attributionControl.setPrefix(false);
  if (ctx.config.tile_url) {
    L.tileLayer(ctx.config.tile_url, {
      subdomains: ctx.config.tile_subdomains || 'abc',
      attribution: ctx.config.tile_attribution || '',
      maxZoom: 18,
    }).addTo(map);
  }
  map.createPane('zones').style.zIndex = 350;
  map.createPane('heat').style.zIndex = 360;
  map.createPane('tracks').style.zIndex = 390;

  const layers = {
    zones: L.layerGroup().addTo(map),
    towns: L.layerGroup().addTo(map),
    grid: L.layerGroup(),
    heat: L.layerGroup(),
    incidents: L.layerGroup().addTo(map),
    tracks: L.layerGroup().addTo(map),
  };
  if (view.grid) layers.grid.addTo(map);
  if (view.heat) layers.heat.addTo(map);
  const overlays = {};
  for (const k of Object.keys(layers)) overlays[t('map.layers.' + k)] = layers[k];
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  // writeURL records filters, view and selection in the hash.
  function writeURL() {
    // A page being left must not write its state over the next page's URL.
    if (!alive) return;
    const p = new URLSearchParams();
    for (const k of ['from', 'to', 'zone', 'unit', 'campaign']) if (f[k]) p.set(k, f[k]);
    if (f.kinds.length) p.set('kind', f.kinds.join(','));
    const ctr = map.getCenter();
    p.set('c', ctr.lat.toFixed(5) + ',' + ctr.lng.toFixed(5));
    p.set('z', String(map.getZoom()));
    if (map.hasLayer(layers.heat)) p.set('heat', '1');
    if (map.hasLayer(layers.grid)) p.set('grid', '1');
    if (view.record) p.set('record', view.record);
    if (view.day) p.set('day', view.day);
    if (view.tunit) p.set('tunit', view.tunit);
    ctx.setQuery(p);
  }

  // ---- zones ----
  const zoneStyle = {
    water: { color: '#1565c0', weight: 1, fillColor: '#64b5f6', fillOpacity: 0.45 },
    first: { color: '#0d47a1', weight: 2, fill: false },
    second: { color: '#1976d2', weight: 1.5, dashArray: '6 4', fill: false },
  };
  async function loadZones() {
    const [prot, towns, grid] = await Promise.all(
      ['protection', 'towns', 'grid'].map((l) => api.get('/zones/' + l).catch(() => ({ features: [] }))),
    );
    if (!alive) return;
    L.geoJSON(prot, {
      pane: 'zones',
      interactive: false,
      style: (ft) => zoneStyle[ft.properties.level || ft.properties.id] || { color: '#1976d2', weight: 1, fill: false },
    }).addTo(layers.zones);
    L.geoJSON(towns, {
      pane: 'zones',
      style: { color: '#757575', weight: 1, fill: true, fillOpacity: 0, dashArray: '2 3' },
      onEachFeature: (ft, layer) => layer.bindTooltip(name(ft.properties), { sticky: true }),
    }).addTo(layers.towns);
    L.geoJSON(grid, { pane: 'zones', interactive: false, style: { color: '#9e9e9e', weight: 0.5, fill: false } }).addTo(layers.grid);
    return prot;
  }

  // ---- incidents ----
  let seq = 0;
  async function loadIncidents() {
    const my = ++seq;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
    let fc;
    try {
      fc = await api.get('/map/incidents', { ...filterQuery(f), bbox, zoom: map.getZoom() });
    } catch (err) {
      if (my === seq) inview.textContent = err.message;
      return;
    }
    if (!alive || my !== seq) return;
    layers.incidents.clearLayers();
    for (const ft of fc.features) {
      const [lon, lat] = ft.geometry.coordinates;
      const p = ft.properties;
      if (p.cluster) {
        const size = 26 + Math.min(26, Math.round(Math.log10(p.count) * 10));
        const dominant = Object.entries(p.kinds || {}).sort((a, b) => b[1] - a[1])[0];
        const m = L.marker([lat, lon], {
          icon: L.divIcon({
            className: 'cluster kind-' + (dominant ? dominant[0] : 'mixed'),
            html: `<span>${Number(p.count)}</span>`,
            iconSize: [size, size],
          }),
          title: Object.entries(p.kinds || {}).map(([k, n]) => t('kind.' + k) + ' ' + n).join(' · '),
        });
        m.on('click', () => {
          if (ft.bbox && p.expansion_zoom) {
            map.flyTo([lat, lon], Math.max(p.expansion_zoom, map.getZoom() + 1));
          } else map.setView([lat, lon], map.getZoom() + 2);
        });
        m.on('add', () => {
          const e = m.getElement();
          e.dataset.count = p.count;
          e.dataset.cluster = ft.id;
        });
        m.addTo(layers.incidents);
      } else {
        const m = L.circleMarker([lat, lon], {
          radius: 7,
          color: '#fff',
          weight: 1.5,
          fillColor: kindColor[p.kind] || '#555',
          fillOpacity: 0.95,
          className: 'incident kind-' + p.kind,
        });
        m.on('add', () => {
          const e = m.getElement();
          e.dataset.count = '1';
          e.dataset.id = p.id;
          e.dataset.kind = p.kind;
        });
        m.on('click', () => openRecord(p.id, [lat, lon]));
        m.bindTooltip(t('kind.' + p.kind) + ' · ' + dateTime(p.observed_at));
        m.addTo(layers.incidents);
      }
    }
    inview.textContent = num(fc.numberMatched);
    inview.dataset.count = fc.numberMatched;
    mapEl.dataset.loaded = String(my);
    // The first render's time, for the benchmark on the performance timeline.
    if (my === 1 && performance.mark) performance.mark('baoshui:map-rendered');
    writeURL();
  }

  // ---- heat ----
  async function loadHeat() {
    if (!map.hasLayer(layers.heat)) return;
    const fc = await api.get('/map/heat', filterQuery(f)).catch(() => null);
    if (!alive || !fc) return;
    layers.heat.clearLayers();
    const max = fc.max || 1;
    L.geoJSON(fc, {
      pane: 'heat',
      style: (ft) => {
        const r = ft.properties.count / max;
        return { weight: 0, fillColor: `hsl(${Math.round(50 - 50 * r)}, 100%, 45%)`, fillOpacity: 0.15 + 0.55 * r };
      },
      onEachFeature: (ft, layer) => layer.bindTooltip(`${ft.properties.cell}: ${num(ft.properties.count)}`),
    }).addTo(layers.heat);
  }

  // ---- a record's popup ----
  async function openRecord(id, latlng) {
    view.record = id;
    writeURL();
    const body = h('div.record#record', { dataset: { id } }, t('loading'));
    const popup = L.popup({ maxWidth: 360, minWidth: 260, autoPanPadding: [20, 20] });
    popup.setContent(body);
    if (latlng) popup.setLatLng(latlng).openOn(map);
    popup.on('remove', () => {
      if (view.record === id) {
        view.record = '';
        writeURL();
      }
    });
    let rec, hist;
    try {
      [rec, hist] = await Promise.all([api.get('/records/' + encodeURIComponent(id)), api.get('/records/' + encodeURIComponent(id) + '/history')]);
    } catch (err) {
      clear(body, h('p.error', err.message));
      return;
    }
    if (!latlng && rec.location) {
      const [lon, lat] = rec.location.coordinates;
      map.setView([lat, lon], Math.max(map.getZoom(), 15));
      popup.setLatLng([lat, lon]).openOn(map);
    }
    clear(body, recordView(rec, hist.revisions || []));
    popup.update();
  }

  function row(label, value) {
    return value == null || value === '' ? null : h('tr', h('th', label), h('td', value));
  }

  function recordView(r, revs) {
    const unit = units.get(r.unit);
    const photos = h('div.photos');
    for (const ph of r.photos || []) {
      const img = h('img.thumb', { alt: ph.sha256.slice(0, 12), title: ph.mime, 'data-sha': ph.sha256 });
      photos.append(img);
      api
        .objectURL('/blobs/' + ph.sha256)
        .then((u) => {
          objectURLs.push(u);
          img.src = u;
          img.onclick = () => lightbox(u);
        })
        .catch(() => img.replaceWith(h('span.missing', '—')));
    }
    return [
      h('h3', h('span.dot', { style: `background:${kindColor[r.kind]}` }), t('kind.' + r.kind), r.voided ? h('span.badge.bad', t('rec.voided')) : null),
      h(
        'table.kv',
        row(t('rec.time'), dateTime(r.observed_at)),
        row(t('rec.team'), unit ? name(unit) : r.unit),
        row(t('rec.officers'), (r.officers || []).join('、')),
        row(t('rec.zone'), r.place && [r.place.zone, r.place.cell].filter(Boolean).join(' · ')),
        r.persons ? row(t('rec.persons'), num(r.persons) + (r.activity ? ` (${t('activity.' + r.activity)})` : '')) : null,
        r.animals ? row(t('rec.animals'), num(r.animals)) : null,
        r.vehicles ? row(t('rec.vehicles'), num(r.vehicles)) : null,
        r.plates ? row(t('rec.plates'), r.plates.join('、')) : null,
        r.case_no ? row(t('rec.case_no'), r.case_no) : null,
        r.violation ? row(t('rec.violation'), r.violation) : null,
        r.fine_fen ? row(t('rec.fine'), yuan(r.fine_fen)) : null,
        r.status ? row(t('rec.status'), t('status.' + r.status)) : null,
        r.note ? row(t('rec.note'), r.note) : null,
      ),
      r.items && r.items.length
        ? h(
            'table.items',
            h('tr', h('th', t('rec.items')), h('th.n', '×'), h('th.n', t('rec.value'))),
            r.items.map((it) => h('tr', h('td', it.name), h('td.n', num(it.quantity)), h('td.n', yuan(it.quantity * it.unit_value_fen)))),
            h('tr.sum', h('td', t('totals.sum')), h('td.n', num(r.items.reduce((s, it) => s + it.quantity, 0))), h('td.n', yuan(r.items.reduce((s, it) => s + it.quantity * it.unit_value_fen, 0)))),
          )
        : null,
      r.photos && r.photos.length ? [h('h4', t('rec.photos')), photos] : null,
      h('h4', t('rec.history')),
      h(
        'ol.history',
        revs.map((v) =>
          h('li', `${t('rec.rev')} ${v.rev} · ${dateTime(v.received_at)} · ${v.recorded_by || v.created_by || ''}`, v.voided ? ' · ' + t('rec.voided') + (v.void_reason ? ': ' + v.void_reason : '') : ''),
        ),
      ),
    ];
  }

  function lightbox(url) {
    const box = h('div.lightbox#lightbox', { onclick: () => box.remove() }, h('img', { src: url, alt: '' }));
    document.body.append(box);
  }

  // ---- tracks ----
  // pos is the playback's place, 0 to 1000, kept apart from the slider:
  // a range input rounds its value to whole steps, and a frame's advance
  // (0.8 at 60 frames a second) rounded to a whole step was lost on
  // displays of more than 100 frames a second.
  const trackState = { patrols: [], t0: 0, t1: 0, playing: false, raf: 0, markers: [], pos: 0 };
  const slider = h('input#track-time', { type: 'range', min: 0, max: 1000, value: 0, disabled: true });
  const clock = h('span#track-clock');
  const playBtn = h('button#track-play', { type: 'button', disabled: true }, t('tracks.play'));
  const trackList = h('ul.tracks#track-list');

  function positionAt(tr, ms) {
    const ts = tr.times;
    const cs = tr.coords;
    if (ms <= ts[0]) return cs[0];
    if (ms >= ts[ts.length - 1]) return cs[cs.length - 1];
    let i = 1;
    while (ts[i] < ms) i++;
    const a = (ms - ts[i - 1]) / (ts[i] - ts[i - 1] || 1);
    return [cs[i - 1][0] + a * (cs[i][0] - cs[i - 1][0]), cs[i - 1][1] + a * (cs[i][1] - cs[i - 1][1])];
  }

  function showTime(ms) {
    clock.textContent = ms ? time(ms) : '';
    trackState.patrols.forEach((tr, i) => {
      const [lon, lat] = positionAt(tr, ms);
      trackState.markers[i].setLatLng([lat, lon]);
    });
  }

  async function loadTracks() {
    layers.tracks.clearLayers();
    trackState.patrols = [];
    trackState.markers = [];
    clear(trackList);
    slider.disabled = playBtn.disabled = true;
    if (!view.day) return;
    const recs = await api
      .get('/records', { kind: 'patrol', unit: view.tunit, from: view.day, to: nextDay(view.day), limit: 200 })
      .catch((err) => ({ error: err }));
    if (!alive) return;
    if (recs.error) {
      trackList.append(h('li.error', recs.error.message));
      return;
    }
    const patrols = (recs.records || []).filter((r) => !r.voided);
    if (!patrols.length) {
      trackList.append(h('li', t('tracks.none')));
      return;
    }
    const tracks = await Promise.all(patrols.map((r) => api.get('/patrols/' + encodeURIComponent(r.id) + '/track').catch(() => null)));
    if (!alive) return;
    const bounds = L.latLngBounds([]);
    patrols.forEach((r, i) => {
      const tr = tracks[i];
      if (!tr || !tr.geometry || !tr.geometry.coordinates || tr.geometry.coordinates.length < 2) return;
      const coords = tr.geometry.coordinates;
      const times = (tr.properties && tr.properties.times) || [];
      const color = trackColors[trackState.patrols.length % trackColors.length];
      const line = L.polyline(coords.map(([lon, lat]) => [lat, lon]), { color, weight: 3, opacity: 0.8, pane: 'tracks', className: 'track' });
      line.on('add', () => (line.getElement().dataset.id = r.id));
      line.addTo(layers.tracks);
      bounds.extend(line.getBounds());
      const entry = { id: r.id, coords, times: times.length === coords.length ? times : coords.map((_, j) => j), record: r };
      trackState.patrols.push(entry);
      trackState.markers.push(
        L.circleMarker([coords[0][1], coords[0][0]], { radius: 6, color: '#000', weight: 1, fillColor: color, fillOpacity: 1, pane: 'tracks' }).addTo(layers.tracks),
      );
      const u = units.get(r.unit);
      trackList.append(
        h('li', h('span.dot', { style: `background:${color}` }), `${time(r.started_at || r.observed_at)}–${r.ended_at ? time(r.ended_at) : ''} ${u ? name(u) : r.unit} · ${(r.officers || []).join('、')}`, r.effort ? ` · ${num(r.effort.distance_m / 1000, 1)} km` : ''),
      );
    });
    if (!trackState.patrols.length) {
      trackList.append(h('li', t('tracks.none')));
      return;
    }
    trackState.t0 = Math.min(...trackState.patrols.map((p) => p.times[0]));
    trackState.t1 = Math.max(...trackState.patrols.map((p) => p.times[p.times.length - 1]));
    slider.disabled = playBtn.disabled = false;
    slider.value = trackState.pos = 0;
    showTime(trackState.t0);
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30] });
  }

  slider.addEventListener('input', () => {
    trackState.pos = Number(slider.value);
    showTime(trackState.t0 + (trackState.pos / 1000) * (trackState.t1 - trackState.t0));
  });
  playBtn.addEventListener('click', () => {
    trackState.playing = !trackState.playing;
    playBtn.textContent = trackState.playing ? t('tracks.pause') : t('tracks.play');
    if (!trackState.playing) return;
    if (trackState.pos >= 1000) slider.value = trackState.pos = 0;
    let last = performance.now();
    // The whole day plays in about 20 seconds.
    const step = (now) => {
      if (!trackState.playing || !alive) return;
      // A frame's time may precede the click's: never step back.
      const v = Math.min(1000, trackState.pos + (Math.max(0, now - last) / 20000) * 1000);
      last = now;
      slider.value = trackState.pos = v;
      showTime(trackState.t0 + (v / 1000) * (trackState.t1 - trackState.t0));
      if (v >= 1000) {
        trackState.playing = false;
        playBtn.textContent = t('tracks.play');
        return;
      }
      trackState.raf = requestAnimationFrame(step);
    };
    trackState.raf = requestAnimationFrame(step);
  });

  // ---- the side panel ----
  const inputs = {
    from: h('input#f-from', { type: 'date', value: f.from }),
    to: h('input#f-to', { type: 'date', value: f.to }),
    zone: h('select#f-zone', h('option', { value: '' }, t('all'))),
    unit: h('select#f-unit', h('option', { value: '' }, t('all'))),
    campaign: h('select#f-campaign', h('option', { value: '' }, t('all'))),
  };
  const kindBoxes = kinds.map((k) =>
    h('label.kind', h('input', { type: 'checkbox', name: 'kind', value: k, checked: f.kinds.length === 0 || f.kinds.includes(k) }), h('span.dot', { style: `background:${kindColor[k]}` }), t('kind.' + k)),
  );
  const dayInput = h('input#t-day', { type: 'date', value: view.day });
  const tunit = h('select#t-unit', h('option', { value: '' }, t('all')));

  function readFilters() {
    f.from = inputs.from.value;
    f.to = inputs.to.value;
    f.zone = inputs.zone.value;
    f.unit = inputs.unit.value;
    f.campaign = inputs.campaign.value;
    const checked = kindBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    // Every kind checked is no filter at all, and keeps the URL short.
    f.kinds = checked.length === kinds.length ? [] : checked;
  }
  const form = h(
    'form.filters#filters',
    {
      onsubmit: (e) => {
        e.preventDefault();
        readFilters();
        view.record = '';
        loadIncidents();
        loadHeat();
      },
    },
    h('h2', t('filters')),
    h('div.row', h('label', t('from'), inputs.from), h('label', t('to'), inputs.to)),
    h('fieldset', h('legend', t('kind')), kindBoxes),
    h('label', t('zone'), inputs.zone),
    h('label', t('team'), inputs.unit),
    h('label', t('campaign'), inputs.campaign),
    h('div.row', h('button#f-apply', { type: 'submit' }, t('apply')),
      h('button.link', { type: 'button', onclick: () => { for (const k of ['from', 'to', 'zone', 'unit', 'campaign']) inputs[k].value = ''; kindBoxes.forEach((l) => (l.querySelector('input').checked = true)); form.requestSubmit(); } }, t('reset'))),
  );
  // Kind boxes apply at once: they are the most used filter.
  // The last kind cannot be unchecked: a map of nothing is no filter anyone wants.
  kindBoxes.forEach((l) =>
    l.querySelector('input').addEventListener('change', (e) => {
      if (!kindBoxes.some((b) => b.querySelector('input').checked)) {
        e.target.checked = true;
        return;
      }
      form.requestSubmit();
    }),
  );
  clear(
    side,
    h('p.inview', t('map.inview'), ': ', inview),
    form,
    h(
      'section.trackpanel',
      h('h2', t('tracks.title')),
      h('div.row', h('label', t('tracks.day'), dayInput), h('label', t('team'), tunit)),
      h('button#t-show', { type: 'button', onclick: () => { view.day = dayInput.value; view.tunit = tunit.value; writeURL(); loadTracks(); } }, t('tracks.show')),
      h('div.row', playBtn, slider, clock),
      trackList,
    ),
  );

  function option(sel, value, label, selected) {
    sel.append(h('option', { value, selected: value === selected }, label));
  }

  map.on('moveend', () => loadIncidents());
  map.on('overlayadd overlayremove', (e) => {
    if (e.layer === layers.heat) loadHeat();
    writeURL();
  });

  (async () => {
    const [unitList, campaigns, prot] = await Promise.all([
      api.get('/units').catch(() => ({ units: [] })),
      api.get('/campaigns').catch(() => ({ campaigns: [] })),
      loadZones(),
    ]);
    if (!alive) return;
    for (const u of unitList.units || []) {
      units.set(u.id, u);
      option(inputs.unit, u.id, name(u), f.unit);
      option(tunit, u.id, name(u), view.tunit);
    }
    for (const cp of campaigns.campaigns || []) option(inputs.campaign, cp.id, name(cp), f.campaign);
    for (const ft of (prot && prot.features) || []) option(inputs.zone, ft.properties.id, name(ft.properties), f.zone);
    await loadIncidents();
    loadHeat();
    if (view.record) openRecord(view.record, null);
    if (view.day) loadTracks();
  })();


  return () => {
    alive = false;
    trackState.playing = false;
    cancelAnimationFrame(trackState.raf);
    map.remove();
    objectURLs.forEach((u) => URL.revokeObjectURL(u));
    document.getElementById('lightbox')?.remove();
    el.classList.remove('full');
  };
}

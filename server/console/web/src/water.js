// The water-quality page: every station's current class as a coloured badge
// against its target, a chart of any parameter over a chosen period with the
// Class I–V limits as bands, and the open alerts with an acknowledge button.
// It polls every 15 seconds, so it stays live without reloading.
import * as api from './api.js';
import { h, clear } from './dom.js';
import { t, name, num, dateTime, date, time } from './i18n.js';
import { classColor, seriesChart } from './chart.js';

const pollMs = 15000;

export function badge(cls, extra) {
  const c = cls || '—';
  return h('span.class-badge', { style: `background:${classColor[c] || '#bdbdbd'}`, 'data-class': c, title: extra || '' }, c);
}

export function mount(el, ctx) {
  const stationId = ctx.route.rest[0] || '';
  const q = ctx.route.params;
  let alive = true;
  let timer = 0;
  let params = null;
  const canAck = ['office', 'admin'].includes(ctx.me.role);

  const list = h('section.stations#stations');
  const alerts = h('section.alerts#alerts');
  const detail = h('section.detail#station');
  clear(el, h('div.water', h('div.col', list, alerts), detail));

  async function refreshList() {
    let data;
    try {
      data = await api.get('/stations');
    } catch (err) {
      clear(list, h('p.error', err.message));
      return;
    }
    if (!alive) return;
    clear(
      list,
      h('h2', t('water.stations'), h('span.live', { title: t('water.live') }, '●')),
      h(
        'table.list',
        h('tr', h('th', t('water.station')), h('th', t('water.class')), h('th', t('water.target')), h('th', t('water.latest'))),
        data.stations.map((s) => {
          const cls = s.latest && s.latest.assessment_class;
          return h(
            'tr',
            { class: s.id === stationId ? 'selected' : null, 'data-station': s.id, 'data-status': s.status },
            h('td', h('a', { href: '#/water/' + encodeURIComponent(s.id) }, name(s))),
            h('td', badge(cls), ' ', h('span.status.' + s.status, t('water.status.' + (s.status === 'exceeds' ? 'exceeding' : s.status)))),
            h('td', badge(s.target_class)),
            h('td.muted', s.latest ? dateTime(s.latest.ts) : '—'),
          );
        }),
      ),
    );
  }

  async function refreshAlerts() {
    let data;
    try {
      data = await api.get('/alerts', { state: 'open' });
    } catch (err) {
      clear(alerts, h('h2', t('water.alerts')), h('p.error', err.message));
      return;
    }
    if (!alive) return;
    const open = data.alerts || [];
    clear(
      alerts,
      h('h2', t('water.alerts'), ' ', h('span.count#alert-count', String(open.length))),
      open.length === 0
        ? h('p.muted', t('water.alerts.none'))
        : h(
            'ul.alertlist',
            open.map((a) =>
              h(
                'li',
                { 'data-alert': a.id },
                badge(a.worst_class),
                ' ',
                h('a', { href: '#/water/' + encodeURIComponent(a.station) }, a.station),
                ` · ${a.kind} · ${(a.params || []).join(', ')} · ${t('water.opened')} ${dateTime(a.opened_at)}`,
                a.acked_by ? h('span.muted', ` · ${t('water.acked')} ${a.acked_by}`) : null,
                canAck && !a.acked_by
                  ? h('button.small', {
                      type: 'button',
                      onclick: async (e) => {
                        e.target.disabled = true;
                        try {
                          await api.post('/alerts/' + encodeURIComponent(a.id) + '/ack');
                        } catch (err) {
                          e.target.replaceWith(h('span.error', err.message));
                          return;
                        }
                        refreshAlerts();
                      },
                    }, t('water.ack'))
                  : null,
              ),
            ),
          ),
    );
  }

  // ---- one station ----
  const state = { param: q.get('param') || '', days: Number(q.get('days')) || 1 };

  async function refreshStation() {
    if (!stationId) {
      clear(detail, h('p.muted', t('water.stations') + ' →'));
      return;
    }
    let st;
    try {
      [st, params] = await Promise.all([api.get('/stations/' + encodeURIComponent(stationId)), params || api.get('/water-quality/params')]);
    } catch (err) {
      clear(detail, h('p.error', err.message));
      return;
    }
    if (!alive) return;
    const byId = new Map(params.params.map((p) => [p.param, p]));
    const own = st.params || [];
    if (!state.param || !own.includes(state.param)) state.param = own.includes('tp_mg_l') ? 'tp_mg_l' : own[0];
    const paramSel = h('select#w-param', own.map((p) => h('option', { value: p, selected: p === state.param }, name(byId.get(p) || { name: p }))));
    const periodSel = h('select#w-period', [1, 7, 30, 90, 365].map((d) => h('option', { value: d, selected: d === state.days }, t('water.period.' + d))));
    const change = () => {
      state.param = paramSel.value;
      state.days = Number(periodSel.value);
      ctx.setQuery(new URLSearchParams({ param: state.param, days: String(state.days) }));
      drawChart();
    };
    paramSel.onchange = periodSel.onchange = change;
    const chartBox = h('div.chartbox#chart');
    const latest = st.latest;
    clear(
      detail,
      h('h2', name(st), ' ', badge(latest && latest.assessment_class), h('span.muted', ` ${t('water.target')} `), badge(st.target_class)),
      latest
        ? h(
            'table.kv.latest',
            own.filter((p) => latest.values && latest.values[p] != null).map((p) => {
              const def = byId.get(p) || {};
              return h('tr', h('th', name(def) || p), h('td', num(latest.values[p], 3), ' ', def.unit || ''));
            }),
            h('tr', h('th', t('water.latest')), h('td', dateTime(latest.ts))),
          )
        : h('p.muted', t('water.status.unknown')),
      h('div.row', h('label', t('water.param'), paramSel), h('label', t('water.period'), periodSel)),
      chartBox,
    );

    async function drawChart() {
      const to = new Date();
      const from = new Date(to.getTime() - state.days * 86400000);
      let s;
      try {
        s = await api.get('/stations/' + encodeURIComponent(stationId) + '/readings', {
          from: from.toISOString(),
          to: to.toISOString(),
          param: state.param,
          max_points: 240,
        });
      } catch (err) {
        clear(chartBox, h('p.error', err.message));
        return;
      }
      if (!alive) return;
      const series = s.params && s.params[state.param];
      // Short periods come as raw points, longer ones as buckets.
      const buckets = series && series.points
        ? series.points.map((p) => ({ start: p.ts, count: 1, min: p.value, max: p.value, mean: p.value }))
        : ((series && series.buckets) || []).filter((b) => b.count > 0);
      if (!buckets.length) {
        clear(chartBox, h('p.muted', t('water.nodata')));
        return;
      }
      const def = byId.get(state.param) || {};
      const limits = def.limits && (def.limits[st.water_body] || Object.values(def.limits)[0]);
      clear(
        chartBox,
        seriesChart({
          buckets,
          limits,
          unit: def.unit || '',
          fmtNum: (v) => num(v, 3),
          fmtTime: (ms) => (state.days > 1 ? date(ms) : time(ms)),
        }),
      );
    }
    drawChart();
    refreshStation.chart = drawChart;
  }

  async function tick() {
    await Promise.all([refreshList(), refreshAlerts(), refreshStation.chart ? refreshStation.chart() : null]);
    if (alive) timer = setTimeout(tick, pollMs);
  }
  refreshList();
  refreshAlerts();
  refreshStation();
  timer = setTimeout(tick, pollMs);

  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

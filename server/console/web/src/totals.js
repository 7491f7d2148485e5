// The totals page: the year's enforcement figures as the district reports
// them, a monthly chart, a table by team, and the same as CSV and Excel
// downloads from /reports/totals.
import * as api from './api.js';
import { h, clear } from './dom.js';
import { t, name, num, yuan, month } from './i18n.js';
import { barChart } from './chart.js';

// figures are the reported figures in report order; money is in fen.
export const figures = [
  { key: 'persons_cleared', label: 'totals.persons' },
  { key: 'grazing_stopped', label: 'totals.grazing' },
  { key: 'vehicles_cleared', label: 'totals.vehicles' },
  { key: 'items_confiscated', label: 'totals.items' },
  { key: 'confiscated_value_fen', label: 'totals.value', money: true },
  { key: 'cases_filed', label: 'totals.cases' },
  { key: 'fines_fen', label: 'totals.fines', money: true },
];
const activities = ['fishing', 'swimming', 'visiting', 'other'];

function fmt(f, v) {
  return f.money ? yuan(v || 0) : num(v || 0);
}

export function mount(el, ctx) {
  const q = ctx.route.params;
  let alive = true;
  const box = h('section.totals#totals', t('loading'));
  clear(el, box);

  (async () => {
    let year = Number(q.get('year'));
    if (!year) {
      // The year of the newest record: the one the office is reporting on.
      const newest = await api.get('/records', { limit: 1 }).catch(() => null);
      const at = newest && newest.records && newest.records[0] && newest.records[0].observed_at;
      year = at ? new Date(at).getUTCFullYear() : new Date().getFullYear();
    }
    const metric = q.get('figure') && figures.some((f) => f.key === q.get('figure')) ? q.get('figure') : 'persons_cleared';
    const period = { from: `${year}-01-01`, to: `${year + 1}-01-01` };
    let rep, units;
    try {
      [rep, units] = await Promise.all([api.get('/reports/totals', period), api.get('/units').catch(() => ({ units: [] }))]);
    } catch (err) {
      clear(box, h('p.error', err.message));
      return;
    }
    if (!alive) return;
    const unitNames = new Map((units.units || []).map((u) => [u.id, u]));
    const tot = rep.totals;
    const yearSel = h(
      'select#t-year',
      { onchange: () => (location.hash = '#/totals?year=' + yearSel.value) },
      Array.from({ length: 12 }, (_, i) => new Date().getFullYear() - i)
        .concat(year)
        .filter((y, i, a) => a.indexOf(y) === i)
        .sort((a, b) => b - a)
        .map((y) => h('option', { value: y, selected: y === year }, String(y))),
    );
    const cards = figures.map((f) =>
      h(
        'div.card',
        { 'data-figure': f.key },
        h('div.label', t(f.label)),
        h('div.value', fmt(f, tot[f.key])),
        f.key === 'persons_cleared'
          ? h('div.breakdown', activities.map((a) => h('span', { 'data-activity': a }, `${t('activity.' + a)} ${num((tot.by_activity || {})[a] || 0)}`)))
          : null,
      ),
    );
    const months = Array.from({ length: 12 }, (_, i) => `${year}-${String(i + 1).padStart(2, '0')}`);
    const byMonth = rep.by_month || {};
    const fig = figures.find((f) => f.key === metric);
    const figSel = h(
      'select#t-figure',
      {
        onchange: () => {
          ctx.setQuery(new URLSearchParams({ year: String(year), figure: figSel.value }));
          const f = figures.find((x) => x.key === figSel.value);
          clear(chartBox, chart(f));
        },
      },
      figures.map((f) => h('option', { value: f.key, selected: f.key === metric }, t(f.label))),
    );
    const chart = (f) =>
      barChart({
        labels: months.map((m) => month(m)),
        values: months.map((m) => {
          const v = (byMonth[m] || {})[f.key] || 0;
          return f.money ? v / 100 : v;
        }),
        fmtNum: (v) => num(v, 0),
      });
    const chartBox = h('div.chartbox#monthly', chart(fig));
    const unitRows = Object.entries(rep.by_unit || {}).sort((a, b) => (b[1].persons_cleared || 0) - (a[1].persons_cleared || 0));
    const download = (format) => async (e) => {
      e.target.disabled = true;
      try {
        await api.download('/reports/totals' + api.query({ ...period, format }), `totals-${year}.${format}`);
      } catch (err) {
        alert(err.message);
      } finally {
        e.target.disabled = false;
      }
    };
    clear(
      box,
      h(
        'div.row.head',
        h('h1', t('totals.title')),
        h('label', t('totals.year'), yearSel),
        h('span.spacer'),
        h('button#dl-csv', { type: 'button', onclick: download('csv') }, t('totals.csv')),
        h('button#dl-xlsx', { type: 'button', onclick: download('xlsx') }, t('totals.xlsx')),
      ),
      h('div.cards#figures', cards),
      h('h2', t('totals.monthly'), ' ', figSel),
      chartBox,
      h('h2', t('totals.byunit')),
      h(
        'div.scroll',
        h(
          'table.list.numbers#by-unit',
          h('tr', h('th', t('team')), figures.map((f) => h('th', t(f.label)))),
          unitRows.map(([id, v]) => h('tr', { 'data-unit': id }, h('td', name(unitNames.get(id)) || id), figures.map((f) => h('td.n', fmt(f, v[f.key]))))),
          h('tr.sum', h('td', t('totals.sum')), figures.map((f) => h('td.n', fmt(f, tot[f.key])))),
        ),
      ),
    );
  })();

  return () => {
    alive = false;
  };
}

// The console's two languages: zh-CN (the default) and English. Numbers,
// money and dates are formatted for the chosen locale; times are shown in
// Beijing time whatever the browser's zone, as the office reports them.
const dict = {
  'app.title': ['保水 · 密云水库保水执法', 'Baoshui · Miyun Reservoir protection'],
  'nav.map': ['执法地图', 'Map'],
  'nav.water': ['水质监测', 'Water quality'],
  'nav.totals': ['执法统计', 'Totals'],
  'nav.logout': ['退出', 'Sign out'],
  'lang.switch': ['English', '中文'],
  'login.title': ['登录', 'Sign in'],
  'login.username': ['用户名', 'Username'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Sign in'],
  'login.failed': ['登录失败', 'Sign-in failed'],
  'denied.title': ['无权访问', 'No access'],
  'denied.text': ['控制台供保水办公室和督导使用；巡查队员请使用移动端。', 'The console is for the water protection office and supervisors; patrol officers use the field app.'],
  'denied.page': ['您的角色无权查看此页面。', 'Your role may not see this page.'],
  'error': ['出错了', 'Something went wrong'],
  'loading': ['加载中…', 'Loading…'],
  'filters': ['筛选', 'Filters'],
  'from': ['起', 'From'],
  'to': ['止', 'To'],
  'kind': ['类型', 'Kind'],
  'zone': ['保护区', 'Zone'],
  'team': ['单位', 'Team'],
  'campaign': ['专项行动', 'Campaign'],
  'all': ['全部', 'All'],
  'apply': ['应用', 'Apply'],
  'reset': ['重置', 'Reset'],
  'kind.patrol': ['巡查', 'Patrol'],
  'kind.expulsion': ['劝离', 'People cleared'],
  'kind.grazing': ['制止放牧', 'Grazing stopped'],
  'kind.vehicle': ['清理车辆', 'Vehicles cleared'],
  'kind.confiscation': ['收缴物品', 'Items confiscated'],
  'kind.case': ['立案', 'Case'],
  'activity.fishing': ['垂钓', 'fishing'],
  'activity.swimming': ['游泳', 'swimming'],
  'activity.visiting': ['游玩', 'visiting'],
  'activity.other': ['其他', 'other'],
  'map.inview': ['视图内记录', 'Records in view'],
  'map.layers.zones': ['保护区', 'Protection zones'],
  'map.layers.towns': ['乡镇', 'Towns'],
  'map.layers.grid': ['网格', 'Warden grid'],
  'map.layers.heat': ['热力（网格）', 'Heat (per cell)'],
  'map.layers.incidents': ['事件', 'Incidents'],
  'map.layers.tracks': ['巡查轨迹', 'Patrol tracks'],
  'map.tiles': ['底图', 'Base map'],
  'tracks.title': ['巡查轨迹回放', 'Patrol track playback'],
  'tracks.day': ['日期', 'Day'],
  'tracks.show': ['显示', 'Show'],
  'tracks.none': ['当天无巡查记录', 'No patrol that day'],
  'tracks.play': ['播放', 'Play'],
  'tracks.pause': ['暂停', 'Pause'],
  'rec.time': ['时间', 'Time'],
  'rec.team': ['单位', 'Team'],
  'rec.officers': ['执法人员', 'Officers'],
  'rec.persons': ['劝离人数', 'Persons cleared'],
  'rec.animals': ['牲畜', 'Animals'],
  'rec.vehicles': ['车辆', 'Vehicles'],
  'rec.plates': ['车牌', 'Plates'],
  'rec.items': ['收缴物品', 'Items'],
  'rec.value': ['价值', 'Value'],
  'rec.case_no': ['案号', 'Case no.'],
  'rec.violation': ['违法行为', 'Violation'],
  'rec.fine': ['罚款', 'Fine'],
  'rec.status': ['状态', 'Status'],
  'rec.note': ['备注', 'Note'],
  'status.filed': ['已立案', 'filed'],
  'status.investigating': ['调查中', 'investigating'],
  'status.notice_served': ['已告知', 'notice served'],
  'status.hearing': ['听证', 'hearing'],
  'status.legal_review': ['法制审核', 'legal review'],
  'status.decided': ['已决定', 'decided'],
  'status.served': ['已送达', 'served'],
  'status.paid': ['已缴款', 'paid'],
  'status.enforced': ['已强制执行', 'enforced'],
  'status.closed': ['已结案', 'closed'],
  'status.withdrawn': ['已撤销', 'withdrawn'],
  'status.transferred': ['已移送', 'transferred'],
  'rec.photos': ['照片', 'Photos'],
  'rec.history': ['修订记录', 'History'],
  'rec.voided': ['已作废', 'Voided'],
  'rec.rev': ['版本', 'Revision'],
  'rec.zone': ['区域', 'Zone'],
  'water.stations': ['监测站', 'Stations'],
  'water.station': ['站点', 'Station'],
  'water.class': ['当前类别', 'Current class'],
  'water.target': ['目标', 'Target'],
  'water.latest': ['最新数据', 'Latest reading'],
  'water.status.compliant': ['达标', 'compliant'],
  'water.status.exceeding': ['超标', 'exceeding'],
  'water.status.silent': ['离线', 'silent'],
  'water.status.unknown': ['无数据', 'no data'],
  'water.param': ['指标', 'Parameter'],
  'water.period': ['时段', 'Period'],
  'water.period.1': ['24 小时', '24 hours'],
  'water.period.7': ['7 天', '7 days'],
  'water.period.30': ['30 天', '30 days'],
  'water.period.90': ['90 天', '90 days'],
  'water.period.365': ['一年', 'one year'],
  'water.alerts': ['告警', 'Alerts'],
  'water.alerts.none': ['无未处理告警', 'No open alert'],
  'water.ack': ['确认', 'Acknowledge'],
  'water.acked': ['已确认', 'Acknowledged'],
  'water.opened': ['开始', 'Opened'],
  'water.nodata': ['该时段无数据', 'No data in this period'],
  'water.live': ['自动刷新', 'Live'],
  'totals.title': ['年度执法统计', 'Enforcement totals of the year'],
  'totals.year': ['年份', 'Year'],
  'totals.persons': ['劝离人员', 'Persons cleared'],
  'totals.grazing': ['制止放牧', 'Grazing stopped'],
  'totals.vehicles': ['清理车辆', 'Vehicles cleared'],
  'totals.items': ['收缴物品', 'Items confiscated'],
  'totals.value': ['物品价值', 'Value of items'],
  'totals.cases': ['立案', 'Cases filed'],
  'totals.fines': ['罚款', 'Fines'],
  'totals.monthly': ['按月', 'By month'],
  'totals.byunit': ['按单位', 'By team'],
  'totals.month': ['月份', 'Month'],
  'totals.csv': ['下载 CSV', 'Download CSV'],
  'totals.xlsx': ['下载 Excel', 'Download Excel'],
  'totals.sum': ['合计', 'Total'],
  'unit.persons': ['人次', 'persons'],
  'unit.times': ['起', ''],
  'unit.vehicles': ['辆', 'vehicles'],
  'unit.items': ['件', 'items'],
};

let lang = (() => {
  try {
    return localStorage.getItem('baoshui.lang') === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
})();

// t returns the text of key in the current language (the key if unknown).
export function t(key) {
  const v = dict[key];
  return v ? v[lang === 'en' ? 1 : 0] : key;
}

export function language() {
  return lang;
}

export function locale() {
  return lang === 'en' ? 'en-GB' : 'zh-CN';
}

// setLanguage switches the language and remembers it in this browser.
export function setLanguage(l) {
  lang = l === 'en' ? 'en' : 'zh';
  try {
    localStorage.setItem('baoshui.lang', lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

// name picks the Chinese or English name of an object with name/name_en.
export function name(o) {
  if (!o) return '';
  return (lang === 'en' && o.name_en) || o.name || o.id || '';
}

export function num(n, digits) {
  return new Intl.NumberFormat(locale(), digits == null ? {} : { maximumFractionDigits: digits }).format(n);
}

// yuan formats an amount in fen as yuan, e.g. ¥476,600.00.
export function yuan(fen) {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: 'CNY' }).format(fen / 100);
}

const tz = 'Asia/Shanghai';

export function dateTime(s) {
  if (!s) return '';
  return new Intl.DateTimeFormat(locale(), {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(s));
}

export function date(s) {
  if (!s) return '';
  return new Intl.DateTimeFormat(locale(), { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(s));
}

export function time(s) {
  return new Intl.DateTimeFormat(locale(), { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(s));
}

export function month(ym) {
  const [y, m] = ym.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', month: 'short' }).format(Date.UTC(y, m - 1, 15));
}

if (typeof document !== 'undefined') document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';

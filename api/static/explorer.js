// The explorer: an example client of the public /v1 API (regions, production range, CSV and Parquet exports,
// the forecast after the last measured half-hour, the greenest window, the methodology's attribution).
// The reader key is kept in sessionStorage only. Instants are plotted on a real time axis (UTC ms), labelled
// in local time with the offset of each timestamp, so DST days have 46 or 50 half-hours, none overlapping.
// A missing interval is a null row: a gap in every chart, never a zero.
"use strict";

const KEY_STORAGE = "eco2mix.explorer.readerKey";
const SOURCES = ["nucleaire", "hydraulique", "eolien", "solaire", "bioenergies", "thermique"];
const LABELS = {
  nucleaire: "Nuclear", hydraulique: "Hydro", eolien: "Wind", solaire: "Solar",
  bioenergies: "Bioenergy", thermique: "Fossil thermal",
};
const COLORS = {
  nucleaire: "#e0b100", hydraulique: "#1f6fb5", eolien: "#5bbfa8", solaire: "#f08a00",
  bioenergies: "#2e7d32", thermique: "#8e3b46",
};
const STEP_MS = { "30min": 30 * 60 * 1000, hour: 60 * 60 * 1000 };
const PAGE_LIMIT = 5000;
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const FORECAST_HOURS = 48;
const FORECAST_COLOR = "#b34700";
const GREENEST_FILL = "rgba(46, 125, 50, 0.22)";
const FONT = { family: "system-ui, sans-serif", color: "#1a1a1a", size: 13 };

const $ = (id) => document.getElementById(id);
const state = { regions: [], rows: [], sources: [], query: null, forecast: null, greenest: null };
window.explorer = state; // read by the browser tests (plotted values are also on each chart's .data)

function setStatus(text, kind) {
  $("status").textContent = text;
  document.body.dataset.state = kind;
}

function readerKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

class ApiProblem extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function apiGet(url) {
  const response = await fetch(url, { headers: { "X-API-Key": readerKey(), Accept: "application/json" } });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = problem.detail || detail;
    } catch (_) { /* not problem+json */ }
    throw new ApiProblem(response.status, detail);
  }
  return response.json();
}

// ---- time: local labels of instants -------------------------------------------------------------------

const PARIS = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
});

// "2024-10-27T02:00:00+01:00" for an instant (used for intervals the API did not return).
function localIso(ms) {
  const p = Object.fromEntries(PARIS.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  const offset = p.timeZoneName === "GMT" ? "+00:00" : p.timeZoneName.slice(3);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:00${offset}`;
}

// The instant of a local day's midnight (Europe/Paris), as the API writes it: "2024-03-31T00:00:00+01:00".
function localMidnight(isoDay) {
  for (const offset of ["+01:00", "+02:00"]) {
    const text = `${isoDay}T00:00:00${offset}`;
    if (localIso(Date.parse(text)) === text) return text;
  }
  return `${isoDay}T00:00:00+01:00`;
}

function addDays(isoDay, days) {
  const d = new Date(`${isoDay}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function monthsBetween(start, end) {
  const months = [];
  for (let m = start.slice(0, 7); m <= end.slice(0, 7); m = addDays(`${m}-28`, 4).slice(0, 7)) months.push(m);
  return months;
}

// ---- data: pages, all-regions totals, gaps --------------------------------------------------------------

async function fetchItems(query) {
  const params = new URLSearchParams({
    start_date: query.start, end_date: query.end, granularity: query.granularity, limit: String(PAGE_LIMIT),
  });
  if (query.region) params.set("region_code", query.region);
  let url = `/v1/production/regional?${params}`;
  const items = [];
  while (url) {
    const page = await apiGet(url);
    items.push(...page.items);
    url = page.next ? new URL(page.next, location.href).pathname + new URL(page.next, location.href).search : null;
  }
  return items;
}

// Sum of a value over regions: null as soon as one region's value is missing (a total must not hide a hole).
function total(values) {
  let sum = 0;
  for (const v of values) {
    if (v === null || v === undefined) return null;
    sum += v;
  }
  return sum;
}

// One row per timestamp. For all regions: totals, and carbon intensity weighted by each region's production.
function rowsFromItems(items, regionCount) {
  // A region takes part in a source's total only if it has that source at all (nucleaire is null throughout
  // in regions without plants): otherwise its nulls would blank the total.
  const regionSources = new Map();
  for (const item of items) {
    if (!regionSources.has(item.region)) regionSources.set(item.region, new Set());
    for (const [s, v] of Object.entries(item.sources || {})) if (v !== null) regionSources.get(item.region).add(s);
  }
  const byTime = new Map();
  for (const item of items) {
    if (!byTime.has(item.timestamp)) byTime.set(item.timestamp, []);
    byTime.get(item.timestamp).push(item);
  }
  const rows = [];
  for (const [timestamp, group] of byTime) {
    const complete = group.length === regionCount;
    const sources = {};
    const loadFactors = {};
    for (const s of SOURCES) {
      const holders = group.filter((item) => regionSources.get(item.region).has(s));
      if (holders.length) sources[s] = complete ? total(holders.map((item) => item.sources[s])) : null;
      if (group.length === 1 && holders.length) loadFactors[s] = (group[0].facteur_charge || {})[s] ?? null;
    }
    const production = complete ? total(group.map((item) => item.production_mw)) : null;
    const weighted = complete ? total(group.map((item) => (
      item.carbon_intensity_g_per_kwh === null || item.production_mw === null
        ? null : item.carbon_intensity_g_per_kwh * item.production_mw))) : null;
    rows.push({
      timestamp,
      date: group[0].date || timestamp.slice(0, 10),
      sources,
      loadFactors,
      production,
      consumption: complete ? total(group.map((item) => item.consumption_mw)) : null,
      carbon: group.length === 1 ? group[0].carbon_intensity_g_per_kwh
        : (weighted === null || !production ? null : weighted / production),
    });
  }
  return rows;
}

function emptyRow(timestamp) {
  return { timestamp, date: timestamp.slice(0, 10), sources: {}, loadFactors: {}, production: null,
    consumption: null, carbon: null, missing: true };
}

// Insert a null row for every interval (or day) absent between the first and last one returned.
function withGaps(rows, granularity, query) {
  const out = [];
  if (granularity === "day") {
    const byDate = new Map(rows.map((row) => [row.date, row]));
    for (let day = query.start; day <= query.end; day = addDays(day, 1)) {
      out.push(byDate.get(day) || emptyRow(`${day}T00:00:00`));
    }
    return out.map((row) => ({ ...row, x: row.date }));
  }
  const step = STEP_MS[granularity];
  const sorted = rows.map((row) => ({ ...row, x: Date.parse(row.timestamp) })).sort((a, b) => a.x - b.x);
  for (const row of sorted) {
    const previous = out.length ? out[out.length - 1].x : null;
    for (let x = previous === null ? row.x : previous + step; x < row.x; x += step) {
      out.push({ ...emptyRow(localIso(x)), x });
    }
    out.push(row);
  }
  return out;
}

// ---- charts --------------------------------------------------------------------------------------------

function timeLabel(row, granularity) {
  return granularity === "day" ? row.date : `${row.timestamp.slice(0, 10)} ${row.timestamp.slice(11, 16)} ${row.timestamp.slice(19)}`;
}

// Tick marks at local boundaries, labelled in local time (plotly itself would label UTC).
function localTicks(rows) {
  const spanDays = rows.length ? (rows[rows.length - 1].x - rows[0].x) / 86400000 : 0;
  const offsets = new Set(rows.map((row) => row.timestamp.slice(19)));
  const everyDays = Math.max(1, Math.ceil(spanDays / 12));
  const hourStep = spanDays <= 1.5 ? 3 : spanDays <= 6 ? 12 : 0;
  const tickvals = [];
  const ticktext = [];
  let dayIndex = 0;
  for (const row of rows) {
    const hour = Number(row.timestamp.slice(11, 13));
    const minute = row.timestamp.slice(14, 16);
    if (minute !== "00") continue;
    const midnight = hour === 0;
    if (midnight) dayIndex += 1;
    const take = hourStep ? hour % hourStep === 0 : midnight && (dayIndex - 1) % everyDays === 0;
    if (!take) continue;
    const day = row.timestamp.slice(0, 10);
    let text = hourStep ? row.timestamp.slice(11, 16) : day.slice(5);
    if (hourStep && offsets.size > 1) text += ` (${row.timestamp.slice(19)})`;
    if (hourStep && midnight) text += `<br>${day}`;
    tickvals.push(row.x);
    ticktext.push(text);
  }
  return { tickvals, ticktext };
}

function xAxis(rows, granularity) {
  const axis = { type: "date", showgrid: true, gridcolor: "#e6e6e6", automargin: true };
  if (granularity !== "day") Object.assign(axis, { tickmode: "array", ...localTicks(rows) });
  return axis;
}

function layout(rows, granularity, yTitle, extra) {
  return {
    font: FONT, margin: { l: 64, r: 16, t: 16, b: 48 }, hovermode: "closest",
    xaxis: xAxis(rows, granularity),
    yaxis: { title: { text: yTitle }, rangemode: "tozero", gridcolor: "#e6e6e6", automargin: true },
    legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    ...extra,
  };
}

// One closed polygon per run of known values between `bottom` and `top`, runs separated by null: plotly's
// fill "tonexty" would bridge a gap, "toself" closes each segment on its own, so a hole stays a hole.
function bandPolygon(x, bottom, top) {
  const px = [];
  const py = [];
  let run = [];
  const close = () => {
    if (run.length) {
      px.push(...run.map((k) => x[k]), ...run.slice().reverse().map((k) => x[k]), null);
      py.push(...run.map((k) => top[k]), ...run.slice().reverse().map((k) => bottom[k]), null);
    }
    run = [];
  };
  x.forEach((_, k) => (top[k] === null || bottom[k] === null ? close() : run.push(k)));
  close();
  return { x: px, y: py };
}

function drawMix(rows, sources, granularity) {
  const x = rows.map((row) => row.x);
  const text = rows.map((row) => timeLabel(row, granularity));
  let bottom = rows.map(() => 0);
  const traces = [];
  for (const s of sources) {
    const values = rows.map((row) => (s in row.sources ? row.sources[s] : null));
    // Stack by hand: a missing value breaks its band and every band above it (their base is unknown).
    const top = values.map((v, k) => (bottom[k] === null || v === null ? null : bottom[k] + v));
    traces.push({
      type: "scatter", mode: "lines", name: LABELS[s], ...bandPolygon(x, bottom, top), meta: `${s}:area`,
      fill: "toself", fillcolor: COLORS[s], line: { width: 0 }, hoverinfo: "skip", legendgroup: s,
    });
    // The band's upper edge: the plotted stacked values, with the source's own value on hover.
    traces.push({
      type: "scatter", mode: "lines", name: LABELS[s], x, y: top, customdata: values, text, meta: s,
      connectgaps: false, line: { width: 0.8, color: COLORS[s] }, showlegend: false, legendgroup: s,
      hovertemplate: `%{text}<br>${LABELS[s]}: %{customdata:,.0f} MW<extra></extra>`,
    });
    bottom = top;
  }
  traces.push({
    type: "scatter", mode: "lines", name: "Consumption", x, y: rows.map((row) => row.consumption), text,
    meta: "consumption", connectgaps: false, line: { width: 2, color: "#111", dash: "dot" },
    hovertemplate: "%{text}<br>Consumption: %{y:,.0f} MW<extra></extra>",
  });
  return Plotly.react("mix-chart", traces, layout(rows, granularity, "MW"), PLOT_CONFIG);
}

// "0–6h: 11.8, 6–24h: 17.2, 24–48h: 19.5": the backtest MAE of the model chosen for each horizon band.
function maeText(model) {
  return (model.bands || []).map((b) => `${b.band.replace("-", "–")} ${b.mae === null ? "n/a" : b.mae.toFixed(1)}`).join(", ");
}

// The forecast's carbon intensity as plotted points (x: UTC ms), with its 10–90 % band.
function forecastPoints(forecast) {
  return forecast.intervals.map((interval) => {
    const value = interval.carbon_intensity_g_per_kwh || {};
    return { timestamp: interval.timestamp, x: Date.parse(interval.timestamp), value: value.value ?? null,
      lower: value.lower ?? null, upper: value.upper ?? null };
  });
}

function forecastTraces(forecast) {
  const points = forecastPoints(forecast);
  const x = points.map((p) => p.x);
  const text = points.map((p) => timeLabel(p, "30min"));
  const model = forecast.models.carbon_intensity_g_per_kwh || {};
  const common = { type: "scatter", mode: "lines", x, text, connectgaps: false, legendgroup: "forecast" };
  return [
    // The band: its lower edge (no line), then its upper edge filled down to it ("tonexty").
    { ...common, name: "Forecast 10 % quantile", meta: "forecast:lower", y: points.map((p) => p.lower),
      line: { width: 0, color: FORECAST_COLOR }, showlegend: false, hoverinfo: "skip" },
    { ...common, name: "Forecast 10–90 % band", meta: "forecast:upper", y: points.map((p) => p.upper),
      customdata: points.map((p) => p.lower), fill: "tonexty", fillcolor: "rgba(179, 71, 0, 0.18)",
      line: { width: 0, color: FORECAST_COLOR },
      hovertemplate: "%{text}<br>Forecast band: %{customdata:.1f}–%{y:.1f} gCO2eq/kWh<extra></extra>" },
    { ...common, name: `Forecast (expected error, MAE ${maeText(model)} gCO2eq/kWh)`, meta: "forecast",
      y: points.map((p) => p.value), line: { width: 2, color: FORECAST_COLOR, dash: "dash" },
      hovertemplate: "%{text}<br>Forecast: %{y:.1f} gCO2eq/kWh<extra></extra>" },
  ];
}

function drawCarbon(rows, granularity, forecast) {
  const trace = {
    type: "scatter", mode: "lines", name: "Carbon intensity (measured)", x: rows.map((row) => row.x),
    y: rows.map((row) => row.carbon), text: rows.map((row) => timeLabel(row, granularity)), meta: "carbon",
    connectgaps: false, line: { width: 2, color: "#5b3a8c" },
    hovertemplate: "%{text}<br>%{y:.1f} gCO2eq/kWh<extra></extra>",
  };
  if (!forecast) {
    $("carbon-chart").classList.remove("with-forecast");
    return Plotly.react("carbon-chart", [trace], layout(rows, granularity, "gCO2eq/kWh", { showlegend: false }), PLOT_CONFIG);
  }
  $("carbon-chart").classList.add("with-forecast");
  const origin = Date.parse(forecast.origin);
  const ticks = [...rows, ...forecastPoints(forecast)].sort((a, b) => a.x - b.x);
  const extra = {
    showlegend: true,
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: origin, x1: origin, y0: 0, y1: 1,
      line: { color: FORECAST_COLOR, width: 1, dash: "dot" }, name: "forecast-origin" }],
    annotations: [{ xref: "x", yref: "paper", x: origin, y: 1, yanchor: "top", xanchor: "left", showarrow: false,
      text: "forecast →", font: { ...FONT, color: FORECAST_COLOR, size: 12 } }],
  };
  return Plotly.react("carbon-chart", [trace, ...forecastTraces(forecast)],
    layout(ticks, granularity, "gCO2eq/kWh", extra), PLOT_CONFIG);
}

function drawLoadFactors(rows, sources, granularity) {
  const x = rows.map((row) => row.x);
  const text = rows.map((row) => timeLabel(row, granularity));
  const traces = sources.map((s) => ({
    type: "scatter", mode: "lines", name: LABELS[s], x, text, meta: s, connectgaps: false,
    y: rows.map((row) => (s in row.loadFactors ? row.loadFactors[s] : null)), line: { width: 1.5, color: COLORS[s] },
    hovertemplate: `%{text}<br>${LABELS[s]}: %{y:.1f} %<extra></extra>`,
  }));
  return Plotly.react("load-chart", traces, layout(rows, granularity, "%"), PLOT_CONFIG);
}

// ---- table and downloads -------------------------------------------------------------------------------

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function formatValue(value, digits) {
  return value === null || value === undefined ? null : value.toLocaleString("en-GB", { maximumFractionDigits: digits });
}

function drawTable(rows, sources, granularity, withLoadFactors) {
  const columns = [
    ...sources.map((s) => [`${LABELS[s]} (MW)`, (row) => row.sources[s], 0]),
    ["Production (MW)", (row) => row.production, 0],
    ["Consumption (MW)", (row) => row.consumption, 0],
    ["Carbon intensity (gCO2eq/kWh)", (row) => row.carbon, 1],
    ...(withLoadFactors ? sources.map((s) => [`${LABELS[s]} load factor (%)`, (row) => row.loadFactors[s], 1]) : []),
  ];
  const head = document.createElement("tr");
  head.append(cell("th", granularity === "day" ? "Local day" : "Local time (offset)"));
  for (const [title] of columns) head.append(cell("th", title));
  head.querySelectorAll("th").forEach((th) => th.setAttribute("scope", "col"));
  $("data-table").tHead.replaceChildren(head);
  const body = document.createDocumentFragment();
  for (const row of rows) {
    const tr = document.createElement("tr");
    const th = cell("th", timeLabel(row, granularity));
    th.setAttribute("scope", "row");
    tr.append(th);
    for (const [, value, digits] of columns) {
      const text = formatValue(value(row), digits);
      tr.append(text === null ? cell("td", "missing", "missing") : cell("td", text));
    }
    body.append(tr);
  }
  $("data-table").tBodies[0].replaceChildren(body);
  $("table-caption").textContent = `${rows.length} rows, ${state.query.regionName}, ${state.query.start} to ${state.query.end}`;
}

function fileName(response, fallback) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : fallback;
}

const EXPORT_PATHS = { csv: "/v1/export/csv", parquet: "/v1/export/parquet" };

// The export's short-lived signed link is asked for as JSON (redirect=false) with the key, then fetched WITHOUT
// it: a followed 302 would carry X-API-Key to the storage origin, whose CORS rule refuses that header (and the
// key has no business there; the link is its own credential).
async function download(format, params, button) {
  button.disabled = true;
  const what = `${format.toUpperCase()} ${Object.values(params).join(" ")}`;
  try {
    const link = await apiGet(`${EXPORT_PATHS[format]}?${new URLSearchParams({ ...params, redirect: "false" })}`);
    const response = await fetch(link.url, { credentials: "omit" });
    if (!response.ok) throw new ApiProblem(response.status, `${response.status}: no ${what}`);
    const blob = await response.blob();
    const anchor = document.createElement("a");
    anchor.href = URL.createObjectURL(blob);
    anchor.download = fileName(response, `eco2mix_${params.region_code || "all"}_${params.month}.${format}`);
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(anchor.href), 10000);
    setStatus(`Downloaded ${anchor.download} (${blob.size.toLocaleString("en-GB")} bytes).`, "ready");
  } catch (error) {
    setStatus(`Download failed: ${error.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

function downloadItem(label, format, params) {
  const li = document.createElement("li");
  const button = cell("button", label);
  button.type = "button";
  button.className = "secondary download";
  button.dataset.format = format;
  button.dataset.region = params.region_code || "";
  button.dataset.month = params.month;
  button.addEventListener("click", () => download(format, params, button));
  li.append(button);
  return li;
}

function materialized(region, month) {
  return region && region.first_day && region.first_day.slice(0, 7) <= month && region.last_day.slice(0, 7) >= month;
}

function drawDownloads(query) {
  // "All regions" is the 12 regions; France (FR, their sum) has its own files when it is the one chosen.
  const regions = query.region ? [query.region] : state.regions.filter((r) => r.code !== "FR").map((r) => r.code);
  const items = [];
  for (const month of monthsBetween(query.start, query.end)) {
    // Only region-months that were materialized: each button must return a file.
    const shown = regions.map((code) => state.regions.find((r) => r.code === code)).filter((r) => materialized(r, month));
    if (!shown.length) continue;
    // One Parquet file of what is shown: the region's month, or every region's month in one file.
    const scope = query.region ? { region_code: query.region, month } : { month };
    items.push(downloadItem(`Parquet ${query.regionName} ${month}`, "parquet", scope));
    for (const region of shown) {
      items.push(downloadItem(`CSV ${region.name} ${month}`, "csv", { region_code: region.code, month }));
    }
  }
  $("downloads").replaceChildren(...items);
}

// ---- forecast and greenest window -----------------------------------------------------------------------

// The forecast of the region shown when the plotted range reaches its origin (the end of the measured data):
// only for one region or FR, at half-hour or hour granularity. null otherwise.
async function forecastFor(query) {
  if (!query.region || query.granularity === "day") return null;
  const region = state.regions.find((r) => r.code === query.region);
  if (!region || !region.last_day || query.end < region.last_day) return null; // the range ends before the data
  let forecast;
  try {
    forecast = await apiGet(`/v1/forecast/regional/${encodeURIComponent(query.region)}?horizon=${FORECAST_HOURS}`);
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) return null; // none issued yet
    throw error;
  }
  const origin = Date.parse(forecast.origin);
  const rangeStart = Date.parse(localMidnight(query.start));
  const rangeEnd = Date.parse(localMidnight(addDays(query.end, 1)));
  return rangeEnd >= origin && rangeStart <= origin ? forecast : null;
}

function utcText(iso) {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "unknown";
}

function localText(iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} (${iso.slice(19) || "UTC"})`;
}

function describeForecast(forecast) {
  const note = $("forecast-note");
  note.hidden = !forecast;
  if (!forecast) {
    note.textContent = "";
    return;
  }
  const model = forecast.models.carbon_intensity_g_per_kwh || {};
  const first = forecast.intervals.length ? localText(forecast.intervals[0].timestamp) : utcText(forecast.origin);
  note.textContent = `Dashed: forecast of ${forecast.region_name} from ${first}, ${forecast.horizon_hours} h, issued ` +
    `${utcText(forecast.issued_at)} by model ${model.id || "?"} v${model.version || "?"}; shaded: its 10–90 % ` +
    `prediction interval. Expected error (backtest MAE per horizon band): ${maeText(model)} gCO2eq/kWh. ` +
    "No weather input: the model reads the series' own history and the calendar only.";
}

function setGreenestForm(query, forecast) {
  $("greenest-form").hidden = !query.region;
  const span = $("greenest-span");
  const keep = span.value;
  const options = [new Option("the days shown (measured)", "plotted")];
  if (forecast) options.push(new Option(`the forecast's ${forecast.horizon_hours} h`, "forecast"));
  span.replaceChildren(...options);
  span.value = options.some((o) => o.value === keep) ? keep : "plotted";
  state.greenest = null;
  const caption = $("greenest-caption");
  caption.textContent = query.region ? "" : "Choose a region or France (FR) to find its greenest window.";
  caption.classList.remove("error");
}

// The searched span: the plotted days (up to the forecast's origin: measured data only), or the forecast's.
function greenestParams(query, forecast, spanKind, duration) {
  const params = new URLSearchParams({ region_code: query.region, duration, k: "1" });
  if (spanKind === "forecast" && forecast) {
    params.set("start", forecast.origin);
    params.set("end", new Date(Date.parse(forecast.origin) + forecast.horizon_hours * 3600000).toISOString());
    return params;
  }
  let end = localMidnight(addDays(query.end, 1));
  if (forecast && Date.parse(forecast.origin) < Date.parse(end)) end = forecast.origin;
  params.set("start", localMidnight(query.start));
  params.set("end", end);
  return params;
}

// The carbon chart's shapes other than the greenest marker (the forecast's origin line).
function baseShapes() {
  const shapes = ($("carbon-chart").layout || {}).shapes || [];
  return shapes.filter((shape) => shape.name !== "greenest-window");
}

async function findGreenest() {
  const query = state.query;
  if (!query || !query.region) return;
  const caption = $("greenest-caption");
  const duration = $("greenest-duration").value;
  const label = $("greenest-duration").selectedOptions[0].textContent;
  caption.classList.remove("error");
  caption.textContent = "Searching…";
  try {
    const params = greenestParams(query, state.forecast, $("greenest-span").value, duration);
    const answer = await apiGet(`/v1/intensity/greenest-window?${params}`);
    state.greenest = answer;
    const best = answer.best;
    if (!best) {
      await Plotly.relayout("carbon-chart", { shapes: baseShapes() });
      caption.textContent = `No ${label} window with a value at every half-hour in this span.`;
      return;
    }
    const marker = { type: "rect", xref: "x", yref: "paper", x0: Date.parse(best.start), x1: Date.parse(best.end),
      y0: 0, y1: 1, fillcolor: GREENEST_FILL, line: { color: "#2e7d32", width: 1 }, layer: "below",
      name: "greenest-window" };
    await Plotly.relayout("carbon-chart", { shapes: [...baseShapes(), marker] });
    const saving = best.saving_pct === null ? "" : `, ${best.saving_pct.toFixed(1)} % below the span's mean` +
      ` (${answer.span_mean_intensity_g_per_kwh.toFixed(1)})`;
    const mae = answer.expected_error ? answer.expected_error.mae_g_per_kwh : null;
    const error = mae === null || mae === undefined ? "" : `; forecast's expected error (MAE) up to ${mae.toFixed(1)} gCO2eq/kWh`;
    caption.textContent = `Greenest ${label} (shaded green), ${answer.basis}: ${localText(best.start)} to ` +
      `${localText(best.end)}, mean ${best.mean_intensity_g_per_kwh.toFixed(1)} gCO2eq/kWh${saving}${error}.`;
  } catch (error) {
    caption.classList.add("error");
    caption.textContent = `Greenest window: ${error.message}`;
  }
}

// The attribution the licence asks for: the source (in the footer) and the date of the data's last update.
async function showAttribution() {
  try {
    const response = await fetch("/v1/methodologies", { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const body = await response.json();
    state.methodology = body;
    if (body.data_last_updated) $("data-updated").textContent = `${utcText(body.data_last_updated)}, per`;
  } catch (_) { /* the footer keeps its pointer to /v1/methodologies */ }
}

// ---- form and flow -------------------------------------------------------------------------------------

function queryFromForm() {
  const region = $("region").value;
  const found = state.regions.find((r) => r.code === region);
  return {
    region, regionName: found ? found.name : "all regions", start: $("start").value, end: $("end").value,
    granularity: $("granularity").value, loadFactors: $("load-factors").checked,
  };
}

function syncUrl(query) {
  const params = new URLSearchParams({ start: query.start, end: query.end, granularity: query.granularity });
  if (query.region) params.set("region", query.region);
  if (query.loadFactors) params.set("load_factors", "1");
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

async function show() {
  const query = queryFromForm();
  if (!query.start || !query.end || query.start > query.end) {
    setStatus("Pick a start day on or before the end day.", "error");
    return;
  }
  state.query = query;
  syncUrl(query);
  setStatus("Loading…", "loading");
  try {
    const items = await fetchItems(query);
    const regionCount = query.region ? 1 : new Set(items.map((item) => item.region)).size;
    const rows = withGaps(rowsFromItems(items, regionCount), query.granularity, query);
    const sources = SOURCES.filter((s) => rows.some((row) => s in row.sources));
    state.rows = rows;
    state.sources = sources;
    const withLoadFactors = query.loadFactors && Boolean(query.region);
    $("load-section").hidden = !withLoadFactors;
    state.dataMs = performance.now();
    await drawMix(rows, sources, query.granularity);
    // Milliseconds from navigation start to the first chart on screen (read by bench/explorer.py).
    if (state.firstChartMs === undefined) state.firstChartMs = performance.now();
    const forecast = await forecastFor(query);
    state.forecast = forecast;
    await drawCarbon(rows, query.granularity, forecast);
    describeForecast(forecast);
    setGreenestForm(query, forecast);
    if (withLoadFactors) await drawLoadFactors(rows, sources, query.granularity);
    drawTable(rows, sources, query.granularity, withLoadFactors);
    drawDownloads(query);
    const missing = rows.filter((row) => row.missing || row.consumption === null).length;
    const note = query.loadFactors && !query.region ? " Load factors are shown for one region at a time." : "";
    const ahead = forecast ? `, then a ${forecast.horizon_hours} h forecast` : "";
    setStatus(`${rows.length} points, ${query.regionName}, ${query.start} to ${query.end}` +
      `${missing ? `, ${missing} missing` : ""}${ahead}.${note}`, "ready");
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) sessionStorage.removeItem(KEY_STORAGE);
    setStatus(error.message, "error");
  }
}

async function loadRegions() {
  const body = await apiGet("/v1/regions");
  state.regions = body.items;
  const select = $("region");
  const keep = select.value;
  select.replaceChildren(new Option("All regions", ""));
  for (const region of body.items) {
    const span = region.first_day ? "" : ", no data yet";
    select.append(new Option(`${region.name} (${region.code}${span})`, region.code));
  }
  select.value = keep;
  const last = body.items.map((r) => r.last_day).filter(Boolean).sort().pop();
  if (last && !$("end").value) {
    $("end").value = last;
    $("start").value = addDays(last, -6);
  }
}

function applyUrl() {
  const params = new URLSearchParams(location.search);
  if (params.get("start")) $("start").value = params.get("start");
  if (params.get("end")) $("end").value = params.get("end");
  if (params.get("granularity")) $("granularity").value = params.get("granularity");
  $("load-factors").checked = params.get("load_factors") === "1";
  return params.get("region") || "";
}

async function start() {
  const region = applyUrl();
  $("api-key").placeholder = readerKey() ? "key set for this tab" : "";
  if (!readerKey()) {
    setStatus("Enter a reader API key to start.", "idle");
    $("api-key").focus();
    return;
  }
  try {
    await loadRegions();
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) sessionStorage.removeItem(KEY_STORAGE);
    setStatus(error.message, "error");
    return;
  }
  $("region").value = region;
  await show();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("api-key").value = "";
  start();
});
$("greenest-form").addEventListener("submit", (event) => {
  event.preventDefault();
  findGreenest();
});
$("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  setStatus("Key forgotten.", "idle");
});
$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!readerKey()) {
    setStatus("Enter a reader API key first.", "error");
    return;
  }
  show();
});
showAttribution();
start();

// The dashboard: the program's figures over a period (GET /v1/dashboard), as tiles for the whole period and as
// Chart.js charts per calendar bucket, each chart with a table of the same numbers for those who cannot see it.
// The period lives in the address (#/dashboard?range=30&interval=DAY), so a view can be bookmarked.

import { el, form, formatMoney, formatPoints, header, section, showFilterError, table, tiles, uniqueId } from "./ui.js";

const DAY_MS = 86_400_000;
const RANGES = [
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
  ["custom", "Custom dates"],
];
const INTERVALS = [
  ["DAY", "Day"],
  ["WEEK", "Week"],
  ["MONTH", "Month"],
];
const COLOURS = { issued: "#1d6b36", spent: "#0b5cad", expired: "#b3261e", orders: "#0b5cad", refunds: "#b3261e", outstanding: "#6b3fa0" };

// Chart instances of the page on screen: destroyed before the next render, so none keeps observing a canvas that
// is gone.
let charts = [];

function destroyCharts() {
  for (const chart of charts) chart.destroy();
  charts = [];
}

// ---- the period ----

// "2024-05-01" (a date input) → that day's local midnight.
function localMidnight(text) {
  const [year, month, day] = text.split("-").map(Number);
  return new Date(year, month - 1, day);
}

// The request's from/to from the address: a preset counts back from now; custom dates are whole local days, the
// "to" day included.
export function periodOf(query) {
  const range = query.get("range") || "30";
  const interval = INTERVALS.some(([value]) => value === query.get("interval")) ? query.get("interval") : "DAY";
  if (range === "custom") {
    const from = query.get("from");
    const to = query.get("to");
    return {
      range,
      interval,
      from: from ? localMidnight(from).toISOString() : undefined,
      to: to ? new Date(localMidnight(to).getTime() + DAY_MS).toISOString() : undefined,
    };
  }
  const days = Number(range) > 0 ? Number(range) : 30;
  return { range: String(days), interval, from: new Date(Date.now() - days * DAY_MS).toISOString(), to: undefined };
}

function periodForm(query, navigate) {
  const node = form({
    id: "dashboard-period",
    submitLabel: "Show",
    fields: [
      { name: "range", label: "Period", type: "select", options: RANGES, value: query.get("range") || "30" },
      { name: "from", label: "From (custom)", type: "date", value: query.get("from") || "" },
      { name: "to", label: "To, included (custom)", type: "date", value: query.get("to") || "" },
      { name: "interval", label: "Interval", type: "select", options: INTERVALS, value: query.get("interval") || "DAY" },
    ],
    onSubmit: (values) => {
      const params = new URLSearchParams({ range: values.range, interval: values.interval });
      if (values.range === "custom") {
        if (values.from) params.set("from", values.from);
        if (values.to) params.set("to", values.to);
      }
      navigate(`#/dashboard?${params}`);
    },
  });
  node.classList.add("inline-form", "period-form");
  // The dates only mean something for a custom period: hidden otherwise, so the keyboard skips them.
  const dateRows = ["from", "to"].map((name) => node.controls[name].closest(".field"));
  const showDates = () => {
    for (const row of dateRows) row.hidden = node.controls.range.value !== "custom";
  };
  node.controls.range.addEventListener("change", showDates);
  showDates();
  return node;
}

// ---- figures ----

function periodLine(period) {
  const format = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: period.timeZone });
  const per = INTERVALS.find(([value]) => value === period.interval);
  return el(
    "p",
    { class: "muted", id: "dashboard-period-line" },
    `${format.format(new Date(period.startsAt))} to ${format.format(new Date(period.endsAt))} (${period.timeZone}), per ${per ? per[1].toLowerCase() : period.interval}. Money in ${period.currency}.`,
  );
}

function figureTiles(totals, currency) {
  const money = (minor) => formatMoney(minor, currency);
  return [
    el("h2", { class: "tiles-title" }, "Members"),
    tiles([
      ["Members", formatPoints(totals.members.total), { key: "members-total", note: "open at the end" }],
      ["New members", formatPoints(totals.members.new), { key: "members-new" }],
      ["Closed accounts", formatPoints(totals.members.closed), { key: "members-closed" }],
    ]),
    el("h2", { class: "tiles-title" }, "Points"),
    tiles([
      ["Points issued", formatPoints(totals.points.issued), { key: "points-issued" }],
      ["Points spent", formatPoints(totals.points.spent), { key: "points-spent" }],
      ["Points expired", formatPoints(totals.points.expired), { key: "points-expired" }],
      ["Debited by hand", formatPoints(totals.points.debited), { key: "points-debited" }],
      ["Reversed by refunds", formatPoints(totals.points.reversed), { key: "points-reversed" }],
      ["Outstanding (liability)", formatPoints(totals.points.outstanding), { key: "points-outstanding", note: "held at the end" }],
      ["Pending", formatPoints(totals.points.pending), { key: "points-pending", note: "not yet spendable" }],
    ]),
    el("h2", { class: "tiles-title" }, "Vouchers and sales"),
    tiles([
      ["Vouchers issued", formatPoints(totals.benefits.issued), { key: "benefits-issued" }],
      ["Vouchers burned", formatPoints(totals.benefits.burned), { key: "benefits-burned" }],
      ["Orders", formatPoints(totals.orders.count), { key: "orders-count" }],
      ["Order value", money(totals.orders.value), { key: "orders-value" }],
      ["Refunds", formatPoints(totals.refunds.count), { key: "refunds-count" }],
      ["Refund value", money(totals.refunds.value), { key: "refunds-value" }],
    ]),
  ];
}

// ---- charts ----

// Bucket labels in the tenant's time zone, where the buckets are cut.
function bucketLabels(dashboard) {
  const { interval, timeZone } = dashboard.period;
  const options = interval === "MONTH" ? { month: "short", year: "numeric" } : { day: "numeric", month: "short" };
  const format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone });
  return dashboard.buckets.map((b) => (interval === "WEEK" ? `w/c ${format.format(new Date(b.startsAt))}` : format.format(new Date(b.startsAt))));
}

// One chart: a canvas named for assistive technology, and the same numbers as a table under a disclosure.
// series: [{label, values, colour, format}]
function chartCard({ title, type, labels, series, key }) {
  const summaryId = uniqueId("chart-summary");
  const canvas = el("canvas", { role: "img", "aria-label": `${title}: ${type === "line" ? "line" : "bar"} chart`, "aria-describedby": summaryId, dataset: { chart: key } });
  const totals = series.map((s) => `${s.label} ${s.format(s.total ?? s.values.reduce((a, b) => a + b, 0))}`).join(", ");
  const rows = labels.map((label, index) => ({ label, index }));
  const numbers = table(
    [{ label: "Period", value: (r) => r.label }, ...series.map((s) => ({ label: s.label, value: (r) => s.format(s.values[r.index]), numeric: true }))],
    rows,
    { caption: title, empty: "No buckets." },
  );
  const card = section(
    title,
    el("p", { id: summaryId, class: "muted chart-summary" }, `${series[0].total !== undefined ? "At the end" : "In total"}: ${totals}.`),
    el("div", { class: "chart-box" }, canvas),
    el("details", { class: "chart-numbers" }, el("summary", {}, `The numbers of “${title}”`), numbers),
  );
  card.draw = () => drawChart(canvas, type, labels, series, series[0].format);
  return card;
}

// The axis shows the figures as the tiles do (points grouped, money in the currency).
function drawChart(canvas, type, labels, series, format) {
  if (typeof window.Chart !== "function") {
    canvas.replaceWith(el("p", { class: "form-error" }, "The chart library did not load; the numbers are in the table below."));
    return;
  }
  const chart = new window.Chart(canvas, {
    type,
    data: {
      labels,
      datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.colour, borderColor: s.colour, tension: 0.2 })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false, // figures, not a show: nothing moves (and nothing to wait for)
      scales: { y: { beginAtZero: true, ticks: { precision: 0, callback: (value) => format(value) } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  charts.push(chart);
}

function chartCards(dashboard) {
  const labels = bucketLabels(dashboard);
  const pick = (read) => dashboard.buckets.map(read);
  const points = (n) => formatPoints(n);
  const money = (minor) => formatMoney(minor, dashboard.period.currency);
  return [
    chartCard({
      key: "points",
      title: "Points issued, spent and expired",
      type: "bar",
      labels,
      series: [
        { label: "Issued", values: pick((b) => b.points.issued), colour: COLOURS.issued, format: points },
        { label: "Spent", values: pick((b) => b.points.spent), colour: COLOURS.spent, format: points },
        { label: "Expired", values: pick((b) => b.points.expired), colour: COLOURS.expired, format: points },
      ],
    }),
    chartCard({
      key: "orders",
      title: "Orders and refunds",
      type: "bar",
      labels,
      series: [
        { label: "Orders", values: pick((b) => b.orders.count), colour: COLOURS.orders, format: points },
        { label: "Refunds", values: pick((b) => b.refunds.count), colour: COLOURS.refunds, format: points },
      ],
    }),
    chartCard({
      key: "outstanding",
      title: "Points outstanding",
      type: "line",
      labels,
      series: [
        {
          label: "Outstanding",
          values: pick((b) => b.points.outstanding),
          colour: COLOURS.outstanding,
          format: points,
          total: dashboard.totals.points.outstanding,
        },
      ],
    }),
    chartCard({
      key: "sales",
      title: "Sales value",
      type: "bar",
      labels,
      series: [
        { label: "Orders", values: pick((b) => b.orders.value), colour: COLOURS.orders, format: money },
        { label: "Refunds", values: pick((b) => b.refunds.value), colour: COLOURS.refunds, format: money },
      ],
    }),
  ];
}

async function renderDashboard(view, { engine, query, navigate, isCurrent }) {
  destroyCharts();
  const period = periodOf(query);
  const filters = periodForm(query, navigate);
  view.append(header("Dashboard"), filters);
  let dashboard;
  try {
    dashboard = await engine.get("/v1/dashboard", { from: period.from, to: period.to, interval: period.interval });
  } catch (error) {
    // A refused period (from after to, too many buckets) is shown next to the field it names.
    if (isCurrent() && showFilterError(filters, error)) return;
    throw error;
  }
  if (!isCurrent()) return;
  const cards = chartCards(dashboard);
  view.append(periodLine(dashboard.period), el("div", { class: "dashboard-tiles" }, figureTiles(dashboard.totals, dashboard.period.currency)), el("div", { class: "grid charts" }, cards));
  for (const card of cards) card.draw();
  // Leaving the page releases its charts at once rather than at the next dashboard render.
  window.addEventListener("hashchange", () => isCurrent() || destroyCharts(), { once: true });
}

export const dashboardRoutes = [
  { path: "dashboard", title: "Dashboard", nav: { label: "Dashboard", group: "Program" }, render: renderDashboard },
];

// Tiers: levels members reach by the points they earn (lifetime, or in the current and previous calendar year or
// month). Creating, changing or retiring a tier reassesses every member at once.

import { formatPoints, link } from "./ui.js";
import { resourceRoutes } from "./config-kit.js";

const CALCULATIONS = [
  ["LIFETIME_EARN", "Points earned, ever"],
  ["CALENDAR_PERIOD", "Points earned this period and the last"],
];
const PERIODS = [
  ["", "—"],
  ["P1Y", "Calendar year"],
  ["P1M", "Calendar month"],
];

function fields(item) {
  const t = item || {};
  return [
    { name: "name", label: "Name", required: true, value: t.name || "", help: "2–200 characters." },
    { name: "description", label: "Description", type: "textarea", value: t.description || "" },
    { name: "pointsRequirement", label: "Points required", type: "number", required: true, min: 0, value: t.pointsRequirement ?? "", help: "Points earned (spending never lowers a tier)." },
    { name: "calculation", label: "Counted over", type: "select", value: t.calculation || "LIFETIME_EARN", options: CALCULATIONS },
    { name: "accumulationPeriod", label: "Period (for a calendar tier)", type: "select", value: t.accumulationPeriod || "", options: PERIODS },
    { name: "priority", label: "Priority", type: "number", required: true, min: 0, value: t.priority ?? "", help: "Higher is better; each tier has its own." },
  ];
}

// The default locale's texts go in `details`, keeping any other locales the tier already has.
function body(values, item) {
  const locale = (item && item.defaultLocale) || "en";
  const texts = { ...((item && item.details && item.details[locale]) || {}), name: values.name };
  if (values.description) texts.description = values.description;
  else delete texts.description;
  return {
    details: { ...((item && item.details) || {}), [locale]: texts },
    pointsRequirement: values.pointsRequirement,
    calculation: values.calculation,
    accumulationPeriod: values.accumulationPeriod || null,
    priority: values.priority,
  };
}

export const routes = resourceRoutes({
  path: "tiers",
  api: "/v1/tiers",
  title: "Tiers",
  singular: "Tier",
  nav: { label: "Tiers", group: "Configuration" },
  list: (engine, query) => engine.list("/v1/tiers", { ...query, order: "ASC" }),
  columns: [
    { label: "Name", value: (t) => link(t.name, "tiers", t.id) },
    { label: "Points required", value: (t) => formatPoints(t.pointsRequirement), numeric: true },
    { label: "Counted over", value: (t) => (t.calculation === "LIFETIME_EARN" ? "Lifetime" : `Calendar ${t.accumulationPeriod === "P1M" ? "month" : "year"}`) },
    { label: "Priority", value: (t) => String(t.priority), numeric: true },
  ],
  fields,
  body,
  name: (t) => t.name,
  remove: {
    label: "Retire tier",
    title: (t) => `Retire the tier “${t.name}”?`,
    message: "Its members move at once to the tier their points now give them. The tier is kept for history.",
    confirmLabel: "Retire",
    done: (t) => `Tier “${t.name}” retired.`,
  },
});

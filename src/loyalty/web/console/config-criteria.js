// Points rules (/v1/points_liability_criteria): expiry of points, and caps on what members may earn, spend or hold.
// The rule's settings are JSON (a starting point is filled in for each type); deleting a rule removes it for good.

import { link } from "./ui.js";
import { liveJson, prettyJson, resourceRoutes, statusBadge } from "./config-kit.js";

const TYPES = {
  SIMPLE_EXPIRY: { label: "Points expire", liability: "EXPIRY", config: { expiryBasedOn: "EARN_DATE", dateModifier: "P12M" } },
  MAXIMUM_POINTS_EARN_CAP: { label: "Earning cap", liability: "EARNING_CAP", config: { intervalType: "RUNNING_DAYS", arg: { n: 1 }, maximumPoints: 1000 } },
  MAXIMUM_POINTS_SPEND_CAP: { label: "Spending cap", liability: "SPENDING_CAP", config: { intervalType: "CALENDAR_WEEK", arg: { startOfWeek: "MON" }, maximumPoints: 5000 } },
  MAXIMUM_POINTS_BALANCE_CAP: { label: "Balance cap", liability: "EARNING_CAP", config: { maxPointsInCirculation: 100000, liabilityEntity: "ACTOR" } },
};
const HELP =
  "Expiry: {expiryBasedOn: EARN_DATE | LAST_ACTIVITY, dateModifier: P12M}. Earn and spend caps: {intervalType: CALENDAR_WEEK, arg: {startOfWeek: MON…SUN}, maximumPoints} or {intervalType: RUNNING_HOURS | RUNNING_DAYS, arg: {n}, maximumPoints}. Balance cap: {maxPointsInCirculation, liabilityEntity: ACTOR | TENANT}.";

function fields(item) {
  const c = item || {};
  const type = c.type || "SIMPLE_EXPIRY";
  const active = item ? [{ name: "isActive", label: "Active", type: "checkbox", value: c.isActive }] : [];
  return [
    { name: "name", label: "Name", required: true, value: c.name || "", help: "1–255 characters." },
    { name: "type", label: "Rule", type: "select", value: type, options: Object.entries(TYPES).map(([value, t]) => [value, t.label]), apiNames: ["liabilityType"] },
    { name: "config", label: "Rule settings (JSON)", type: "json", rows: 8, required: true, value: c.config || TYPES[type].config, help: HELP },
    ...active,
  ];
}

function body(values, item) {
  const sent = { name: values.name, type: values.type, liabilityType: TYPES[values.type].liability, config: values.config };
  return item ? { ...sent, isActive: values.isActive } : sent;
}

// Choosing another rule replaces the settings with that rule's starting point, unless the operator has edited them.
function afterForm(formNode) {
  const { type, config } = formNode.controls;
  liveJson(config, config.closest(".field"));
  let template = prettyJson(TYPES[type.value].config);
  type.addEventListener("change", () => {
    const untouched = config.value.trim() === template.trim();
    template = prettyJson(TYPES[type.value].config);
    if (untouched) config.value = template;
  });
}

export const routes = resourceRoutes({
  path: "points-rules",
  api: "/v1/points_liability_criteria",
  title: "Points rules",
  singular: "Points rule",
  nav: { label: "Points rules", group: "Configuration" },
  intro: "Expiry of points, and caps on earning, spending and balances.",
  columns: [
    { label: "Name", value: (c) => link(c.name, "points-rules", c.id) },
    { label: "Rule", value: (c) => (TYPES[c.type] || { label: c.type }).label },
    { label: "Status", value: (c) => statusBadge(c.isActive, "Active", "Inactive") },
  ],
  fields,
  body,
  afterForm,
  name: (c) => c.name,
  remove: {
    label: "Delete rule",
    title: (c) => `Delete the points rule “${c.name}”?`,
    message: "It is removed for good. To keep it but stop it, untick Active instead.",
    confirmLabel: "Delete",
    done: (c) => `Points rule “${c.name}” deleted.`,
  },
});

// Badges: marks of achievement that reactors (or an admin) award. Badges are never deleted: one is switched off or
// archived, which stops it being awarded.

import { link, notify } from "./ui.js";
import { confirmedButton, resourceRoutes, statusBadge } from "./config-kit.js";

const STATUSES = [
  ["ACTIVE", "Active (can be awarded)"],
  ["INACTIVE", "Inactive"],
  ["ARCHIVED", "Archived"],
];

function english(item) {
  return ((item && item.details) || []).find((d) => d.locale === "en") || {};
}

function fields(item) {
  const b = item || {};
  const shown = english(item);
  const status = item ? [{ name: "status", label: "Status", type: "select", value: b.status, options: STATUSES }] : [];
  return [
    { name: "internalName", label: "Internal name", required: true, value: b.internalName || "", help: "2–200 characters; for the program team." },
    { name: "internalDescription", label: "Internal description", type: "textarea", value: b.internalDescription || "" },
    { name: "displayName", label: "Name shown to members (English)", value: shown.name || "", apiNames: ["details"] },
    { name: "displayDescription", label: "Description shown to members (English)", type: "textarea", value: shown.description || "" },
    { name: "priority", label: "Priority", type: "number", min: 0, value: b.priority ?? 0 },
    ...status,
  ];
}

// The English texts replace the "en" entry of `details`; other locales are kept as they are.
function body(values, item) {
  const others = ((item && item.details) || []).filter((d) => d.locale !== "en");
  const mine = values.displayName ? [{ locale: "en", name: values.displayName, ...(values.displayDescription ? { description: values.displayDescription } : {}) }] : [];
  const sent = {
    internalName: values.internalName,
    details: [...mine, ...others],
    priority: values.priority ?? 0,
  };
  if (values.internalDescription) sent.internalDescription = values.internalDescription;
  if (item) sent.status = values.status;
  return sent;
}

function archive(item, { engine, navigate }) {
  if (item.status === "ARCHIVED") return [];
  return [
    confirmedButton({
      label: "Archive badge",
      title: `Archive the badge “${item.internalName}”?`,
      message: "It can no longer be awarded; members keep the badges they have. (Badges are never deleted.)",
      confirmLabel: "Archive",
      run: async () => {
        await engine.patch(`/v1/badges/${encodeURIComponent(item.id)}`, { status: "ARCHIVED" });
        notify(`Badge “${item.internalName}” archived.`);
        navigate("badges");
      },
    }),
  ];
}

export const routes = resourceRoutes({
  path: "badges",
  api: "/v1/badges",
  title: "Badges",
  singular: "Badge",
  nav: { label: "Badges", group: "Configuration" },
  columns: [
    { label: "Name", value: (b) => link(b.internalName, "badges", b.id) },
    { label: "Shown as", value: (b) => english(b).name || "—" },
    { label: "Status", value: (b) => statusBadge(b.status === "ACTIVE", b.status.toLowerCase(), b.status.toLowerCase()) },
    { label: "Priority", value: (b) => String(b.priority), numeric: true },
  ],
  fields,
  body,
  name: (b) => b.internalName,
  actions: archive,
  remove: null,
});

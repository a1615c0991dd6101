// Settings: the program-wide values (what a point is worth, time zone, base currency, discount stacking, pending
// period, vouchers on refund). One form; only the settings that changed are sent, in one all-or-nothing PATCH.

import { el, form, header, notify, section } from "./ui.js";

const KNOWN = {
  pointsCurrencyValue: { label: "What one point is worth (major units of the base currency)", help: '"0.01" = a penny a point.' },
  timezone: { label: "Time zone", help: "An IANA zone such as Europe/London; calendar tiers count in it.", list: "timezones" },
  baseCurrency: { label: "Base currency", help: "ISO 4217 in capitals, e.g. GBP. Orders must be in it." },
  discountStacking: { label: "Discount stacking", type: "select", options: [["STACK", "Discounts add up"], ["BEST_ONLY", "Only the best discount"]] },
  pendingPeriod: { label: "Pending period for points from orders", help: "An ISO 8601 duration such as P14D or PT12H; empty: points are spendable at once." },
  restoreVouchersOnRefund: { label: "Give vouchers back when a sale is refunded", type: "checkbox" },
};

function fieldFor(setting) {
  const known = KNOWN[setting.name];
  if (!known) return { name: setting.name, label: setting.name, type: "json", rows: 2, value: JSON.stringify(setting.value) };
  if (known.type === "checkbox") return { name: setting.name, label: known.label, type: "checkbox", value: Boolean(setting.value) };
  if (known.type === "select") return { name: setting.name, label: known.label, type: "select", value: setting.value, options: known.options };
  return { name: setting.name, label: known.label, help: known.help, value: setting.value ?? "" };
}

// What the form holds, in the engine's types: empty text is null (pendingPeriod), JSON fields as parsed.
function valueOf(setting, values) {
  const value = values[setting.name];
  if (typeof value === "string" && value === "" && setting.name === "pendingPeriod") return null;
  return value;
}

function timeZones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return el("datalist", { id: "timezones" }, zones.map((z) => el("option", { value: z })));
}

async function renderSettings(view, { engine, navigate }) {
  const settings = await engine.get("/v1/settings");
  const node = form({
    fields: settings.map(fieldFor),
    submitLabel: "Save settings",
    extra: timeZones(),
    onSubmit: async (values) => {
      const changes = {};
      for (const setting of settings) {
        const value = valueOf(setting, values);
        if (JSON.stringify(value) !== JSON.stringify(setting.value)) changes[setting.name] = value;
      }
      if (!Object.keys(changes).length) {
        notify("Nothing changed.");
        return;
      }
      await engine.patch("/v1/settings", changes);
      notify(`Saved: ${Object.keys(changes).join(", ")}.`);
      navigate("settings");
    },
  });
  const zone = node.controls.timezone;
  if (zone) zone.setAttribute("list", "timezones");
  view.append(header("Settings"), section("Program settings", node));
}

export const routes = [{ path: "settings", title: "Settings", nav: { label: "Settings", group: "Configuration" }, render: renderSettings }];

// Venues: the shops and sites of the program. The external identifier is the store number a till sends; deleting a
// venue keeps it for the orders and vouchers that name it and frees its store number.

import { link } from "./ui.js";
import { emptyToNull, fromLocalInput, liveJson, resourceRoutes, toLocalInput } from "./config-kit.js";

function fields(item) {
  const v = item || {};
  const at = v.coordinates || {};
  return [
    { name: "name", label: "Name", required: true, value: v.name || "", help: "1–64 characters." },
    { name: "externalIdentifier", label: "Store number (external identifier)", value: v.externalIdentifier || "", help: "What the till sends; unique in the program." },
    { name: "address", label: "Address", type: "textarea", value: v.address || "" },
    { name: "postcode", label: "Postcode", value: v.postcode || "" },
    { name: "description", label: "Description", type: "textarea", value: v.description || "" },
    { name: "availableFrom", label: "Open from", type: "datetime-local", value: toLocalInput(v.availability && v.availability.start), apiNames: ["availability.start", "availability"] },
    { name: "availableUntil", label: "Open until", type: "datetime-local", value: toLocalInput(v.availability && v.availability.end), apiNames: ["availability.end"] },
    { name: "latitude", label: "Latitude", type: "number", step: "any", value: at.latitude ?? "", apiNames: ["coordinates.latitude", "coordinates"] },
    { name: "longitude", label: "Longitude", type: "number", step: "any", value: at.longitude ?? "", apiNames: ["coordinates.longitude"] },
    { name: "attributes", label: "Attributes (JSON)", type: "json", rows: 5, value: v.attributes || {}, help: "Free-form: bookingUrl, telephoneNumber, openingTimes…" },
  ];
}

function body(values, item) {
  const start = fromLocalInput(values.availableFrom);
  const end = fromLocalInput(values.availableUntil);
  const located = values.latitude !== null && values.longitude !== null;
  const sent = {
    name: values.name,
    externalIdentifier: emptyToNull(values.externalIdentifier),
    address: emptyToNull(values.address),
    postcode: emptyToNull(values.postcode),
    description: emptyToNull(values.description),
    availability: start || end ? { start, end } : null,
    coordinates: located ? { latitude: values.latitude, longitude: values.longitude } : null,
    attributes: values.attributes || {},
  };
  // A create leaves out what is empty; an edit sends null to clear it.
  return item ? sent : Object.fromEntries(Object.entries(sent).filter(([, value]) => value !== null));
}

function afterForm(formNode) {
  const control = formNode.controls.attributes;
  liveJson(control, control.closest(".field"));
}

export const routes = resourceRoutes({
  path: "venues",
  api: "/v1/venues",
  title: "Venues",
  singular: "Venue",
  nav: { label: "Venues", group: "Configuration" },
  columns: [
    { label: "Name", value: (v) => link(v.name, "venues", v.id) },
    { label: "Store number", value: (v) => v.externalIdentifier || "—" },
    { label: "Postcode", value: (v) => v.postcode || "—" },
  ],
  fields,
  body,
  afterForm,
  name: (v) => v.name,
  remove: {
    label: "Delete venue",
    title: (v) => `Delete the venue “${v.name}”?`,
    message: "It is kept for the orders and vouchers that name it, but no longer listed; its store number is freed.",
    confirmLabel: "Delete",
    done: (v) => `Venue “${v.name}” deleted.`,
  },
});

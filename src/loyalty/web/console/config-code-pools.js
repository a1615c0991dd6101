// Code pools: uploaded voucher codes that POOL rewards hand out, one per voucher. Pools are created (the API has no
// edit or delete for a pool itself); codes are uploaded from a CSV file, listed, and removed while not handed out.

import { el, facts, form, formatDate, formatPoints, header, link, load, notify, pagedTable, section, table } from "./ui.js";
import { backLink, buttonLink, confirmedButton, statusBadge } from "./config-kit.js";
import { uploadForm } from "./config-code-upload.js";

const NAV = { label: "Code pools", group: "Configuration" };

function renderList(view, { engine }) {
  const holder = el("div");
  view.append(header("Code pools", buttonLink("New code pool", "code-pools", "new")), holder);
  load(holder, async () =>
    table(
      [
        { label: "Name", value: (p) => link(p.name, "code-pools", p.id) },
        { label: "Status", value: (p) => statusBadge(p.active, "Active", "Inactive") },
        { label: "Codes", value: (p) => formatPoints(p.totalCodes), numeric: true },
        { label: "Handed out", value: (p) => formatPoints(p.issuedCodes), numeric: true },
        { label: "Created", value: (p) => formatDate(p.createdAt) },
      ],
      await engine.get("/v1/code_pools"),
      { empty: "No code pools yet.", caption: "Code pools" },
    ),
  );
}

function renderCreate(view, { engine, navigate }) {
  const node = form({
    fields: [
      { name: "name", label: "Name", required: true, help: "1–200 characters." },
      { name: "description", label: "Description", type: "textarea" },
      { name: "active", label: "Active (rewards may hand out its codes)", type: "checkbox", value: true },
    ],
    submitLabel: "Create code pool",
    onSubmit: async (values) => {
      const pool = await engine.post("/v1/code_pools", { name: values.name, description: values.description || null, active: values.active });
      notify(`Code pool “${pool.name}” created.`);
      navigate(`code-pools/${pool.id}`);
    },
  });
  view.append(header("New code pool"), backLink("Code pools", "code-pools"), section("Definition", node));
}

function codesTable(engine, pool, onChange) {
  const base = `/v1/code_pools/${encodeURIComponent(pool.id)}/codes`;
  const list = pagedTable(
    [
      { label: "Code", value: (c) => el("code", {}, c.value) },
      { label: "Added", value: (c) => formatDate(c.createdAt) },
      { label: "Handed out", value: (c) => (c.issuedAt ? formatDate(c.issuedAt) : "—") },
      {
        label: "Actions",
        value: (c) =>
          c.issuedAt
            ? "—"
            : confirmedButton({
                label: `Delete ${c.value}`,
                title: `Delete the code ${c.value}?`,
                message: "It leaves the pool and can no longer be handed out.",
                confirmLabel: "Delete",
                run: async () => {
                  await engine.delete(`${base}/${encodeURIComponent(c.id)}`);
                  notify(`Code ${c.value} deleted.`);
                  onChange();
                },
              }),
      },
    ],
    (query) => engine.list(base, query),
    { empty: "No codes yet.", caption: "Codes" },
  );
  return list;
}

async function renderPool(view, context) {
  const { engine, params } = context;
  const pool = await engine.get(`/v1/code_pools/${encodeURIComponent(params.id)}`);
  if (!context.isCurrent()) return;
  const summary = el("div");
  const showSummary = () =>
    load(summary, async () => {
      const now = await engine.get(`/v1/code_pools/${encodeURIComponent(pool.id)}`);
      return facts([
        ["Description", now.description],
        ["Status", statusBadge(now.active, "Active", "Inactive")],
        ["Codes", el("span", { id: "pool-total" }, formatPoints(now.totalCodes))],
        ["Handed out", formatPoints(now.issuedCodes)],
        ["Created", formatDate(now.createdAt)],
      ]);
    });
  const changed = () => {
    showSummary();
    codes.reload();
  };
  const codes = codesTable(engine, pool, changed);
  const clearAll = confirmedButton({
    label: "Delete codes not handed out",
    title: `Delete every code of “${pool.name}” not handed out?`,
    message: "Codes members already hold are kept; the rest leave the pool.",
    confirmLabel: "Delete codes",
    run: async () => {
      const { deleted } = await engine.delete(`/v1/code_pools/${encodeURIComponent(pool.id)}/codes`);
      notify(`${formatPoints(deleted)} codes deleted.`);
      changed();
    },
  });
  showSummary();
  view.append(
    header(pool.name, clearAll),
    backLink("Code pools", "code-pools"),
    section("Pool", summary),
    section("Upload codes", uploadForm({ engine, pool, onDone: changed })),
    section("Codes", codes),
  );
}

export const routes = [
  { path: "code-pools", title: "Code pools", nav: NAV, render: renderList },
  { path: "code-pools/new", title: "New code pool", render: renderCreate },
  { path: "code-pools/:id", title: "Code pool", render: renderPool },
];

// Reward categories: names that group rewards in a catalogue. The API creates and lists them (no edit or delete).

import { el, form, formatDate, header, load, notify, section, table } from "./ui.js";

async function categoriesTable(engine) {
  const { data } = await engine.list("/v1/reward_categories", { limit: 1000 });
  return table(
    [
      { label: "Name", value: (c) => c.name },
      { label: "Description", value: (c) => c.description || "—" },
      { label: "Created", value: (c) => formatDate(c.createdAt) },
    ],
    data,
    { empty: "No categories yet.", caption: "Reward categories" },
  );
}

function renderCategories(view, { engine }) {
  const list = el("div");
  const show = () => load(list, () => categoriesTable(engine));
  const node = form({
    fields: [
      { name: "name", label: "Name", required: true, help: "2–64 characters." },
      { name: "description", label: "Description", type: "textarea" },
    ],
    submitLabel: "Add category",
    onSubmit: async (values, formNode) => {
      const created = await engine.post("/v1/reward_categories", { name: values.name, description: values.description || undefined });
      notify(`Category “${created.name}” added.`);
      formNode.reset();
      show();
    },
  });
  show();
  view.append(header("Reward categories"), section("Categories", list), section("New category", node));
}

export const routes = [
  { path: "reward-categories", title: "Reward categories", nav: { label: "Reward categories", group: "Configuration" }, render: renderCategories },
];

// Small helpers to build the page from data. Text always goes in as text (never as HTML), so a member's name or
// a product's description can never inject markup.

export function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no element #${id}`);
  return found;
}

// el("li", {class: "x", "aria-label": "…"}, "text", child, …); attributes whose value is false or null are left out.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(id, text) {
  $(id).textContent = text;
}

// Shows a message in an element that is hidden while empty.
export function say(id, text) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
}

export function show(id, visible = true) {
  $(id).hidden = !visible;
}

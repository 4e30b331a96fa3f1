// Small DOM helpers shared by the pages: element builder, error and empty states, number format.

export type Child = Node | string | null | undefined | false;

// h builds an element: attributes (on* are listeners, false/null/undefined are skipped) and children.
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, any> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

// svg builds an SVG element.
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

// errorBox says what went wrong in the server's own sentence (which says what to change).
export function errorBox(err: unknown, next?: Child): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  return h("div", { class: "error", role: "alert" }, h("strong", {}, "Something went wrong. "), msg, next ? h("span", {}, " ", next) : null);
}

// empty is a readable empty state: what is missing and what to do about it.
export function empty(what: string, next?: Child): HTMLElement {
  return h("p", { class: "empty" }, what, next ? " " : "", next || "");
}

// loading is a polite live status shown while a section loads.
export function loading(what: string): HTMLElement {
  return h("p", { class: "loading", role: "status", "aria-live": "polite" }, what);
}

export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toPrecision(d)).toLocaleString() : "–");

export const lower = (s: unknown, prefix: string) => String(s ?? "").replace(prefix, "").toLowerCase();

// table builds an accessible data table from a header and rows of cells.
export function table(caption: string, head: string[], rows: Child[][], attrs: Record<string, any> = {}): HTMLElement {
  return h("div", { class: "scroll" }, h("table", { class: "grid", ...attrs },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", {}, c)))))),
  ));
}

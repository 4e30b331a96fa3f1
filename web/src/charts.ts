// Charts of vds (Vega-Lite specs from the services) rendered with vega-embed, and the selections a
// user makes on them: clicking a bar (a category), clicking a histogram bar (its bin) or brushing a
// range on a histogram or scatter plot. A selection goes with the next question as context.
import embed from "vega-embed";
import { errorBox, h } from "./ui";

export interface Selection {
  chartId: string;
  field: string;
  values?: string[];
  rangeLow?: number;
  rangeHigh?: number;
  label: string;
}

export const selections: Selection[] = [];
let listeners: (() => void)[] = [];
export function onSelectionChange(f: () => void) {
  listeners = [f];
}
function changed() {
  for (const f of listeners) f();
}

// The columns of the dataset on screen: a selection must name one of them.
let knownColumns = new Set<string>();
export function setKnownColumns(names: string[]) {
  knownColumns = new Set(names);
}

export function setSelection(sel: Selection | undefined, chartId: string, announce = true) {
  const i = selections.findIndex((s) => s.chartId === chartId);
  if (sel && i >= 0) selections.splice(i, 1, sel);
  else if (sel) selections.push(sel);
  else if (i >= 0) selections.splice(i, 1);
  else return;
  if (sel && announce) notify(`${sel.label} selected`);
  changed();
}

export function removeSelection(i: number) {
  selections.splice(i, 1);
  changed();
}

function notify(msg: string) {
  const toast = document.getElementById("toast");
  if (!toast) return;
  toast.textContent = msg;
  setTimeout(() => (toast.textContent === msg ? (toast.textContent = "") : 0), 4000);
}

const round = (x: number) => Number(x.toPrecision(4));
export function rangeLabel(field: string, lo: number, hi: number) {
  return `${round(lo)} ≤ ${field} ≤ ${round(hi)}`;
}

function unitOf(spec: any): any {
  return spec?.encoding ? spec : spec?.layer?.[0] ?? {};
}

// categoricalField finds the categorical axis of a chart: the data field to read from a clicked mark
// and the dataset column it stands for (vds charts name their fields "category" or "group" and title
// the axis with the column).
function categoricalField(spec: any): { field: string; column: string } | undefined {
  const enc = { ...(spec?.encoding ?? {}), ...(unitOf(spec).encoding ?? {}) };
  for (const ch of ["x", "y", "color"]) {
    const e = enc[ch];
    if (!e?.field || (e.type !== "nominal" && e.type !== "ordinal")) continue;
    if (knownColumns.has(e.field)) return { field: e.field, column: e.field };
    if (typeof e.title === "string" && knownColumns.has(e.title)) return { field: e.field, column: e.title };
  }
  return undefined;
}

// quantitativeX finds a brushable x axis: a quantitative field standing for a dataset column
// (histograms: bin_start/bin_end titled with the column; scatter plots: x titled with the column).
function quantitativeX(spec: any): { field: string; end?: string; column: string } | undefined {
  const unit = unitOf(spec);
  const e = unit.encoding?.x;
  if (!e?.field || e.type !== "quantitative") return undefined;
  const column = knownColumns.has(e.field) ? e.field : typeof e.title === "string" && knownColumns.has(e.title) ? e.title : "";
  if (!column) return undefined;
  return { field: e.field, end: unit.encoding?.x2?.field, column };
}

// addBrush adds an x interval selection named "brush" to the chart's first unit.
function addBrush(spec: any): any {
  const out = structuredClone(spec);
  const unit = out.encoding ? out : out.layer?.[0];
  if (!unit) return spec;
  unit.params = [...(unit.params ?? []), { name: "brush", select: { type: "interval", encodings: ["x"] } }];
  return out;
}

// brushRange reads [low, high] from the brush signal's value ({field: [a, b]}).
function brushRange(v: any): [number, number] | undefined {
  if (!v || typeof v !== "object") return undefined;
  for (const r of Object.values(v)) {
    if (Array.isArray(r) && r.length === 2 && r.every((x) => typeof x === "number" && Number.isFinite(x))) {
      const [a, b] = r as number[];
      return a < b ? [a, b] : b < a ? [b, a] : undefined;
    }
  }
  return undefined;
}

let pickSeq = 0;

// chart renders a vds Chart. Categorical charts select a clicked bar; quantitative ones (histogram,
// scatter) select a clicked bin or a brushed range. Under each, form controls make the same selection
// from the keyboard. The chart links to its lineage.
export function chart(c: any): HTMLElement {
  const box = h("figure", { class: "chart", "data-chart-id": c.id },
    h("figcaption", {}, c.title || c.kind || "chart"));
  const target = h("div", { class: "vega" });
  box.append(target);
  let spec = { ...(c.vegaLite ?? {}) };
  if (!spec.width) spec.width = "container";
  const cat = categoricalField(spec);
  const quant = cat ? undefined : quantitativeX(spec);
  if (quant) spec = addBrush(spec);
  embed(target, spec, { actions: false, renderer: "svg", tooltip: true })
    .then((res) => {
      box.classList.add("rendered");
      if (cat) {
        box.classList.add("selectable");
        box.title = "Click a bar to ask about it";
        const pick = (v: unknown) => {
          if (v === undefined || v === null || v === "") return;
          setSelection({ chartId: c.id, field: cat.column, values: [String(v)], label: `${cat.column} = ${v}` }, c.id);
        };
        res.view.addEventListener("click", (_ev: any, item: any) => pick(item?.datum?.[cat.field]));
        const values = [...new Set(((spec.data?.values ?? []) as any[]).map((d) => d?.[cat.field]).filter((v) => v !== undefined && v !== null))];
        if (values.length > 0 && values.length <= 200) {
          const id = `pick-${++pickSeq}`;
          const list = h("select", { id }, h("option", { value: "" }, "—"), ...values.map((v) => h("option", { value: String(v) }, String(v))));
          list.addEventListener("change", () => pick(list.value));
          box.append(h("div", { class: "row pick" }, h("label", { for: id }, `Select ${cat.column}`), list));
        }
      }
      if (quant) {
        box.classList.add("selectable", "brushable");
        box.title = `Drag across the chart to select a range of ${quant.column}, or click a bar`;
        // Rounded to 4 significant digits, so the label and the filter the server applies agree.
        const range = (lo: number, hi: number) => {
          [lo, hi] = [round(lo), round(hi)];
          if (hi > lo) setSelection({ chartId: c.id, field: quant.column, rangeLow: lo, rangeHigh: hi, label: rangeLabel(quant.column, lo, hi) }, c.id);
        };
        let brushed = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        res.view.addSignalListener("brush", (_n: string, v: any) => {
          const r = brushRange(v);
          brushed = !!r;
          clearTimeout(timer);
          // The signal changes while dragging: take the range once it rests.
          timer = setTimeout(() => (r ? range(r[0], r[1]) : setSelection(undefined, c.id)), 250);
        });
        // A click on a histogram bar (no drag) selects its bin.
        res.view.addEventListener("click", (_ev: any, item: any) => {
          const d = item?.datum;
          if (brushed || !quant.end || !d) return;
          const lo = Number(d[quant.field]), hi = Number(d[quant.end]);
          if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) range(lo, hi);
        });
        const id = `range-${++pickSeq}`;
        const from = h("input", { id: `${id}-from`, type: "number", step: "any", class: "short" });
        const to = h("input", { id: `${id}-to`, type: "number", step: "any", class: "short" });
        const form = h("form", { class: "row pick" },
          h("label", { for: `${id}-from` }, `${quant.column} from`), from,
          h("label", { for: `${id}-to` }, "to"), to,
          h("button", { type: "submit" }, "Select range"));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const lo = Number(from.value), hi = Number(to.value);
          if (from.value !== "" && to.value !== "" && hi > lo) range(lo, hi);
          else notify("give a range with 'to' above 'from'");
        });
        box.append(form);
      }
    })
    .catch((e) => target.replaceChildren(errorBox(e)));
  const foot = h("p", { class: "source" });
  if (c.source) foot.append("Source: ", c.source, " · ");
  if (c.id) foot.append(h("a", { href: `#/lineage/${encodeURIComponent(c.id)}`, "aria-label": `Lineage of the chart ${c.title || c.id}` }, "Lineage"));
  box.append(foot);
  return box;
}

// lazyCharts renders charts as they scroll into view, so a profile with hundreds stays light.
export function lazyCharts(charts: any[]): HTMLElement {
  const grid = h("div", { class: "charts" });
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      io.unobserve(e.target);
      const c = (e.target as any)._chart;
      e.target.replaceWith(chart(c));
    }
  }, { rootMargin: "200px" });
  for (const c of charts) {
    const ph = h("div", { class: "chart placeholder" }, c.title || "");
    (ph as any)._chart = c;
    grid.append(ph);
    io.observe(ph);
  }
  return grid;
}

// plainChart renders a Vega or Vega-Lite spec without selections (explanations, effect plots).
export function plainChart(title: string, spec: any, attrs: Record<string, any> = {}): HTMLElement {
  const box = h("figure", { class: "chart", ...attrs }, h("figcaption", {}, title));
  const target = h("div", { class: "vega" });
  box.append(target);
  const s = { ...spec };
  if (!s.width && s.$schema?.includes("vega-lite")) s.width = "container";
  embed(target, s, { actions: false, renderer: "svg", tooltip: true })
    .then(() => box.classList.add("rendered"))
    .catch((e) => target.replaceChildren(errorBox(e)));
  return box;
}

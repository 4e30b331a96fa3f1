// graph draws a directed graph as SVG, left to right: each node in the column of its longest path
// from a source, ordered within a column by the mean position of its parents. Used for causal graphs
// and lineage. Nodes with an href are links (keyboard reachable); the edge list goes beside the
// drawing as text.
import { h, svg } from "./ui";

export interface GraphNode {
  id: string;
  label: string;
  sub?: string; // a second, smaller line
  href?: string;
  cls?: string;
}
export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
  undirected?: boolean;
}

let seq = 0;
const NODE_H = 40, GAP_X = 70, GAP_Y = 18, CHAR = 7.2, PAD = 12;

export function drawGraph(nodes: GraphNode[], edges: GraphEdge[], title: string): SVGElement {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parents = new Map<string, string[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (!e.undirected && byId.has(e.from) && byId.has(e.to)) parents.get(e.to)!.push(e.from);
  // Longest path from a source (bounded so a cycle cannot loop forever).
  const layer = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (let it = 0; it < nodes.length; it++) {
    let moved = false;
    for (const n of nodes) {
      const l = Math.max(0, ...parents.get(n.id)!.map((p) => layer.get(p)! + 1));
      if (l > layer.get(n.id)! && l < nodes.length) {
        layer.set(n.id, l);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns: GraphNode[][] = [];
  for (const n of nodes) (columns[layer.get(n.id)!] ??= []).push(n);
  const pos = new Map<string, { x: number; y: number; w: number }>();
  const width = (n: GraphNode) => Math.min(260, Math.max(70, CHAR * (Math.max(n.label.length, (n.sub ?? "").length * 0.85) + 1) + 2 * PAD));
  let x = 10, height = 0;
  const bottoms: { x: number; bottom: number }[] = [];
  for (const col of columns) {
    if (!col) continue;
    // Order by the mean row of the parents, so edges cross less.
    const rank = (n: GraphNode) => {
      const ps = parents.get(n.id)!.map((p) => pos.get(p)?.y ?? 0);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : 0;
    };
    col.sort((a, b) => rank(a) - rank(b));
    const w = Math.max(...col.map(width));
    col.forEach((n, i) => pos.set(n.id, { x, y: 10 + i * (NODE_H + GAP_Y), w }));
    height = Math.max(height, 10 + col.length * (NODE_H + GAP_Y));
    bottoms.push({ x, bottom: 10 + col.length * (NODE_H + GAP_Y) - GAP_Y });
    x += w + GAP_X;
  }
  // An edge that skips columns goes below the nodes of the columns it passes.
  const detour = (x1: number, x2: number) => Math.max(0, ...bottoms.filter((c) => c.x > x1 && c.x < x2 - 1).map((c) => c.bottom));
  let extra = 0;
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (a && b && b.x > a.x && detour(a.x + a.w, b.x)) extra = 24;
  }
  const W = Math.max(x - GAP_X + 10, 100), H = Math.max(height + extra, NODE_H + 20);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": title, class: "graph" });
  const arrow = `arrow-${++seq}`;
  const defs = svg("defs", {}, svg("marker", { id: arrow, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" })));
  root.append(defs);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    let x1 = a.x + a.w, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    if (a.x === b.x) { // same column (undirected or a cycle): join the bottom of one to the top of the other
      x1 = a.x + a.w / 2; x2 = b.x + b.w / 2;
      [y1, y2] = a.y < b.y ? [a.y + NODE_H, b.y] : [a.y, b.y + NODE_H];
    }
    const mx = (x1 + x2) / 2;
    const under = a.x < b.x ? detour(x1, x2) : 0;
    const d = under
      ? `M ${x1} ${y1} C ${x1 + 40} ${under + 14}, ${x2 - 40} ${under + 14}, ${x2} ${y2}`
      : `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`;
    const path = svg("path", { d, class: e.undirected ? "edge undirected" : "edge" });
    if (!e.undirected) path.setAttribute("marker-end", `url(#${arrow})`);
    path.append(svg("title", {}, `${e.from} ${e.undirected ? "—" : "→"} ${e.to}${e.label ? ` (${e.label})` : ""}`));
    root.append(path);
  }
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    const g = svg("g", { class: `node ${n.cls ?? ""}`, transform: `translate(${p.x},${p.y})`, "data-node": n.id });
    g.append(svg("rect", { width: p.w, height: NODE_H, rx: 6 }));
    const t = svg("text", { x: PAD, y: n.sub ? 17 : 25 }, clip(n.label, p.w));
    g.append(t);
    if (n.sub) g.append(svg("text", { x: PAD, y: 32, class: "sub" }, clip(n.sub, p.w / 0.85)));
    g.append(svg("title", {}, n.sub ? `${n.label} (${n.sub})` : n.label));
    if (n.href) {
      const a = svg("a", { href: n.href, "aria-label": n.sub ? `${n.label}, ${n.sub}` : n.label });
      a.append(g);
      root.append(a);
    } else root.append(g);
  }
  return root;
}

function clip(s: string, w: number): string {
  const n = Math.floor((w - 2 * PAD) / CHAR);
  return s.length > n ? s.slice(0, Math.max(1, n - 1)) + "…" : s;
}

// graphFigure is the drawing in a scrolling box with the edges as a list.
export function graphFigure(nodes: GraphNode[], edges: GraphEdge[], title: string, id?: string): HTMLElement {
  return h("figure", { class: "graph-box", id },
    h("figcaption", {}, title),
    h("div", { class: "scroll" }, drawGraph(nodes, edges, title)),
    edges.length
      ? h("details", {}, h("summary", {}, `Edges (${edges.length})`),
          h("ul", { class: "edges" }, ...edges.map((e) => h("li", {}, `${labelOf(nodes, e.from)} ${e.undirected ? "—" : "→"} ${labelOf(nodes, e.to)}${e.label ? ` (${e.label})` : ""}`))))
      : h("p", { class: "empty" }, "No edges."));
}

function labelOf(nodes: GraphNode[], id: string) {
  return nodes.find((n) => n.id === id)?.label ?? id;
}

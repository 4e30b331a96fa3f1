// Lineage of any artifact (dataset version, profile, chart, finding, model, estimate, execution…):
// what it was made from, by which operation, with the query or code that made it, drawn as a graph
// whose nodes lead to their own lineage.
import { api } from "./api";
import { graphFigure, type GraphNode } from "./graph";
import { empty, h, table, type Child } from "./ui";

// pageOf is the web app's page of an artifact, when it has one.
function pageOf(a: any): string {
  const id = String(a.id);
  switch (a.kind) {
    case "dataset_version":
      return `#/d/${id.replace(/\.v\d+$/, "")}`;
    case "model":
      return `#/m/${id}`;
    case "estimate":
      return `#/e/${id}`;
  }
  return "";
}

const CODE_PARAMS = ["query", "sql", "code"];

export async function lineageView(show: (...c: Child[]) => void, artifactId: string) {
  const r = await api("GET", `/v1/lineage/${encodeURIComponent(artifactId)}`);
  const root = r.root ?? { id: artifactId, kind: "", label: "" };
  const arts: any[] = r.artifacts ?? [];
  const byId = new Map<string, any>([[root.id, root], ...arts.map((a) => [a.id, a] as [string, any])]);
  const edges: any[] = r.edges ?? [];
  for (const e of edges) for (const id of [e.fromId, e.toId]) if (!byId.has(id)) byId.set(id, { id, kind: "", label: "" });
  const nodes: GraphNode[] = [...byId.values()].map((a) => ({
    id: a.id,
    label: a.kind ? `${a.kind.replace(/_/g, " ")}` : a.id,
    sub: a.label || a.id,
    href: a.id === root.id ? undefined : `#/lineage/${encodeURIComponent(a.id)}`,
    cls: a.id === root.id ? "root" : "",
  }));
  const page = pageOf(root);
  const name = (id: string) => {
    const a = byId.get(id);
    return a?.label ? `${a.kind} ${a.label}` : id;
  };
  show(
    h("p", {}, h("button", { type: "button", class: "link", onclick: () => history.back() }, "‹ Back"), page ? " · " : "", page ? h("a", { href: page }, "Open it") : null),
    h("h1", {}, `Lineage of ${root.kind ? root.kind.replace(/_/g, " ") + " " : ""}${root.label || root.id}`),
    h("p", { class: "meta" }, h("code", {}, root.id), root.createTime ? ` · made ${new Date(root.createTime).toLocaleString()}` : ""),
    edges.length
      ? graphFigure(nodes, edges.map((e) => ({ from: e.fromId, to: e.toId, label: e.operation })), `What ${root.label || root.id} was made from`, "lineage-graph")
      : empty("Nothing upstream is recorded: this artifact was made from no other (an upload), or before lineage was kept."),
    edges.length
      ? h("section", { "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "How each was made"),
          table("", ["Made", "From", "Operation", "Parameters"], edges.map((e) => {
            const params = Object.entries<string>(e.params ?? {});
            const code = params.filter(([k]) => CODE_PARAMS.includes(k));
            return [
              h("a", { href: `#/lineage/${encodeURIComponent(e.toId)}` }, name(e.toId)),
              h("a", { href: `#/lineage/${encodeURIComponent(e.fromId)}` }, name(e.fromId)),
              e.operation,
              h("div", { class: "params" },
                ...params.filter(([k]) => !CODE_PARAMS.includes(k)).map(([k, v]) => h("div", {}, h("span", { class: "meta" }, `${k}: `), v)),
                ...code.map(([k, v]) => h("details", { open: true }, h("summary", {}, k), h("pre", { class: "code" }, h("code", {}, v))))),
            ];
          }), { id: "lineage-edges" }))
      : null,
  );
}

package planner

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// Markdown renders a conversation as a report: each question, its plan, the answer with its named
// numbers, the findings, the charts (as Vega-Lite specifications), the debate, and the lineage of every
// number (the tool calls with their SQL).
func Markdown(c *orchestratorv1.Conversation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", orDefault(c.Title, "Conversation "+c.Id))
	fmt.Fprintf(&b, "Conversation `%s` in project `%s`", c.Id, c.ProjectId)
	for _, d := range c.Datasets {
		fmt.Fprintf(&b, "; dataset `%s` version %d", d.DatasetId, d.Version)
	}
	b.WriteString(".\n\n")
	for _, m := range c.Messages {
		if m.Role == "user" {
			fmt.Fprintf(&b, "## Question: %s\n\n", oneLine(m.Text))
			continue
		}
		var plan, calls, debate, findings, chartsMD []string
		var ans *orchestratorv1.Answer
		for _, ev := range m.Events {
			switch k := ev.Kind.(type) {
			case *orchestratorv1.Event_PlanSummary:
				plan = append(plan, k.PlanSummary)
			case *orchestratorv1.Event_ToolCall:
				tc := k.ToolCall
				line := fmt.Sprintf("- `%s` (%s): %s", tc.Tool, tc.Arguments["purpose"], oneLine(orDefault(tc.ResultSummary, tc.Error)))
				if sql := tc.Arguments["sql"]; sql != "" {
					line += "\n\n  ```sql\n  " + strings.ReplaceAll(sql, "\n", "\n  ") + "\n  ```"
				}
				calls = append(calls, line)
			case *orchestratorv1.Event_Finding:
				findings = append(findings, "- "+oneLine(k.Finding.Statement))
			case *orchestratorv1.Event_Chart:
				spec, _ := protojson.Marshal(k.Chart.VegaLite)
				chartsMD = append(chartsMD, fmt.Sprintf("### Chart: %s\n\n_%s, from %s (`%s`)_\n\n```vega-lite\n%s\n```", k.Chart.Title, k.Chart.Kind, k.Chart.Source, k.Chart.Id, spec))
			case *orchestratorv1.Event_Debate:
				d := k.Debate
				s := fmt.Sprintf("- **%s**: %s", title(d.Role), d.Claim)
				for _, e := range d.Evidence {
					s += "\n  - " + e
				}
				debate = append(debate, s)
			case *orchestratorv1.Event_Clarification:
				plan = append(plan, "Asked back: "+k.Clarification)
			case *orchestratorv1.Event_Answer:
				ans = k.Answer
			}
		}
		if ans != nil {
			fmt.Fprintf(&b, "**Answer** (confidence %s): %s\n\n", orDefault(ans.Confidence, "n/a"), ans.Text)
			if len(ans.Values) > 0 {
				b.WriteString("| value | number |\n|---|---|\n")
				for _, k := range sortedKeys(ans.Values) {
					fmt.Fprintf(&b, "| %s | %s |\n", strings.ReplaceAll(k, "|", "\\|"), trimFloat(ans.Values[k]))
				}
				b.WriteString("\n")
			}
		}
		section(&b, "Plan", plan)
		section(&b, "Findings", findings)
		for _, c := range chartsMD {
			b.WriteString(c + "\n\n")
		}
		section(&b, "Debate", debate)
		section(&b, "Lineage: tool calls", calls)
	}
	return b.String()
}

func section(b *strings.Builder, name string, lines []string) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "### %s\n\n%s\n\n", name, strings.Join(lines, "\n"))
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// HTML renders the same report as one self-contained page. Charts are embedded as Vega-Lite
// specifications (rendered by vega-embed when the page can load it) with their data as a table beside.
func HTML(c *orchestratorv1.Conversation) string {
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n", e(orDefault(c.Title, c.Id)))
	b.WriteString("<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}pre{background:#f6f6f6;padding:6px;overflow:auto}.debate li{margin:.3rem 0}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>Conversation <code>%s</code> in project <code>%s</code>", e(orDefault(c.Title, "Conversation")), e(c.Id), e(c.ProjectId))
	for _, d := range c.Datasets {
		fmt.Fprintf(&b, "; dataset <code>%s</code> version %d", e(d.DatasetId), d.Version)
	}
	b.WriteString(".</p>\n")
	for _, m := range c.Messages {
		if m.Role == "user" {
			fmt.Fprintf(&b, "<h2>%s</h2>\n", e(m.Text))
			continue
		}
		var calls, debate, findings []string
		for _, ev := range m.Events {
			switch k := ev.Kind.(type) {
			case *orchestratorv1.Event_PlanSummary:
				fmt.Fprintf(&b, "<p><em>%s</em></p>\n", e(k.PlanSummary))
			case *orchestratorv1.Event_Clarification:
				fmt.Fprintf(&b, "<p><strong>Question back:</strong> %s</p>\n", e(k.Clarification))
			case *orchestratorv1.Event_ToolCall:
				tc := k.ToolCall
				s := fmt.Sprintf("<li><code>%s</code> %s: %s", e(tc.Tool), e(tc.Arguments["purpose"]), e(orDefault(tc.ResultSummary, tc.Error)))
				if sql := tc.Arguments["sql"]; sql != "" {
					s += "<pre>" + e(sql) + "</pre>"
				}
				calls = append(calls, s+"</li>")
			case *orchestratorv1.Event_Finding:
				findings = append(findings, "<li>"+e(k.Finding.Statement)+"</li>")
			case *orchestratorv1.Event_Chart:
				spec, _ := protojson.Marshal(k.Chart.VegaLite)
				var js any
				_ = json.Unmarshal(spec, &js)
				clean, _ := json.Marshal(js)
				fmt.Fprintf(&b, "<figure id=\"%s\"><figcaption>%s <small>(%s, from %s)</small></figcaption><div class=\"vega\" data-spec-id=\"spec-%s\"></div>"+
					"<script type=\"application/json\" id=\"spec-%s\">%s</script></figure>\n",
					e(k.Chart.Id), e(k.Chart.Title), e(k.Chart.Kind), e(k.Chart.Source), e(k.Chart.Id), e(k.Chart.Id), strings.ReplaceAll(string(clean), "</", "<\\/"))
			case *orchestratorv1.Event_Debate:
				d := k.Debate
				s := fmt.Sprintf("<li><strong>%s</strong>: %s<ul>", e(title(d.Role)), e(d.Claim))
				for _, ev := range d.Evidence {
					s += "<li>" + e(ev) + "</li>"
				}
				debate = append(debate, s+"</ul></li>")
			case *orchestratorv1.Event_Answer:
				a := k.Answer
				fmt.Fprintf(&b, "<p><strong>Answer</strong> (confidence %s): %s</p>\n", e(orDefault(a.Confidence, "n/a")), e(a.Text))
				if len(a.Values) > 0 {
					b.WriteString("<table><tr><th>value</th><th>number</th></tr>")
					for _, k := range sortedKeys(a.Values) {
						fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td></tr>", e(k), e(trimFloat(a.Values[k])))
					}
					b.WriteString("</table>\n")
				}
			}
		}
		if len(findings) > 0 {
			b.WriteString("<h3>Findings</h3><ul>" + strings.Join(findings, "") + "</ul>\n")
		}
		if len(debate) > 0 {
			b.WriteString("<h3>Debate</h3><ul class=\"debate\">" + strings.Join(debate, "") + "</ul>\n")
		}
		if len(calls) > 0 {
			b.WriteString("<details><summary>Lineage: tool calls</summary><ul>" + strings.Join(calls, "") + "</ul></details>\n")
		}
	}
	b.WriteString(`<script>
if (window.vegaEmbed) for (const d of document.querySelectorAll('div.vega')) vegaEmbed(d, JSON.parse(document.getElementById(d.dataset.specId).textContent));
</script></body></html>
`)
	return b.String()
}

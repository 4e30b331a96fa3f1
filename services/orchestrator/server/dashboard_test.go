package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
	"github.com/vdsproject/vds/libs/charts/vegatest"
)

// ProposeDashboard over the mesh: profiling and the sandbox do the work, the layout comes back
// with tiles and Vega-Lite specs that validate.
func TestProposeDashboard(t *testing.T) {
	c := platform(t)
	validate := vegatest.Optional(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	check := func(d *orchestratorv1.Dashboard) {
		t.Helper()
		if len(d.Panels) == 0 || len(d.Tiles) == 0 || d.ProfileId == "" {
			t.Fatalf("dashboard %s: %d panels, %d tiles, profile %q", d.Kind, len(d.Panels), len(d.Tiles), d.ProfileId)
		}
		for _, p := range d.Panels {
			var spec map[string]any
			if err := json.Unmarshal([]byte(p.VegaLiteJson), &spec); err != nil {
				t.Fatalf("%s: %v", p.Title, err)
			}
			if validate != nil {
				if err := validate(spec); err != nil {
					t.Errorf("%s does not validate: %v", p.Title, err)
				}
			}
		}
	}
	tile := func(d *orchestratorv1.Dashboard, key string) *orchestratorv1.DashboardTile {
		for _, tl := range d.Tiles {
			if tl.Key == key {
				return tl
			}
		}
		t.Fatalf("no %s tile in %v", key, d.Tiles)
		return nil
	}

	telco := dataset(t, "tabular/telco_churn.csv")
	r, err := c.Orchestrator.ProposeDashboard(ctx, &orchestratorv1.ProposeDashboardRequest{Dataset: telco, Target: "Churn"})
	if err != nil {
		t.Fatal(err)
	}
	d := r.Dashboard
	check(d)
	// 1869 of the 7043 customers churned (telco_churn.csv).
	if pr := tile(d, "positive_rate"); d.Kind != "target_breakdown" || pr.Number != 1869.0/7043 {
		t.Errorf("telco: %s, positive rate %v", d.Kind, pr)
	}
	if td := tile(d, "top_driver"); td.Value != "Contract" {
		t.Errorf("telco top driver %v", td)
	}

	fl := dataset(t, "tabular/flights.csv")
	r, err = c.Orchestrator.ProposeDashboard(ctx, &orchestratorv1.ProposeDashboardRequest{Dataset: fl})
	if err != nil {
		t.Fatal(err)
	}
	check(r.Dashboard)
	if s := tile(r.Dashboard, "seasonality"); r.Dashboard.Kind != "time_series" || s.Number != 12 {
		t.Errorf("flights: %s, seasonality %v", r.Dashboard.Kind, s)
	}

	for _, bad := range []string{"tenure", "no_such_column"} {
		_, err = c.Orchestrator.ProposeDashboard(ctx, &orchestratorv1.ProposeDashboardRequest{Dataset: telco, Target: bad})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("target %s: %v, want InvalidArgument", bad, err)
		}
	}
}

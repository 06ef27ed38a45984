package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// dashboardPath is the Grafana dashboard shipped for these metrics.
const dashboardPath = "../dashboards/devp2pd.json"

// Every p2p_* series the dashboard queries is one the collector exports,
// and every series the collector exports is on the dashboard.
func TestDashboardMatchesMetrics(t *testing.T) {
	exprs := dashboardExprs(t)
	if len(exprs) == 0 {
		t.Fatal("no queries in the dashboard")
	}
	exported := exportedNames(t)
	used := make(map[string]bool)
	series := regexp.MustCompile(`\bp2p_[a-z_]+`)
	for _, expr := range exprs {
		for _, name := range series.FindAllString(expr, -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && exported[b] {
					base = b
				}
			}
			if !exported[base] {
				t.Errorf("dashboard queries %s, which the collector does not export (in %q)", name, expr)
			}
			used[base] = true
		}
	}
	for name := range exported {
		if !used[name] {
			t.Errorf("series %s is not on the dashboard", name)
		}
	}
}

// dashboardExprs returns the PromQL expressions of all panels.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if dash.UID == "" {
		t.Error("dashboard has no uid")
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// exportedNames returns the metric names the collector describes.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	srv := startServer(t)
	c, err := New(srv, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch := make(chan *prometheus.Desc, 64)
	c.Describe(ch)
	close(ch)
	names := make(map[string]bool)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the name of %v", d)
		}
		names[m[1]] = true
	}
	return names
}

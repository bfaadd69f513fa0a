package monitoring_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mealsync/mealsync/internal/testenv"
)

const alertmanagerConfig = "deploy/alertmanager/alertmanager.yml"

// secretsDir is where alertmanager.yml reads its secrets from, in production.
const secretsDir = "/etc/alertmanager/secrets/"

func TestAlertmanagerConfigPassesAmtool(t *testing.T) {
	amtool := requireProgram(t, "amtool", "prometheus-alertmanager")
	if out, err := execIn(t, amtool, "check-config", alertmanagerConfig).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

// Severity picks the receiver: critical pages, warning files a ticket, and
// anything unlabelled lands in the ticket queue rather than nowhere.
func TestAlertmanagerRoutesBySeverity(t *testing.T) {
	amtool := requireProgram(t, "amtool", "prometheus-alertmanager")
	for labels, want := range map[string]string{
		"alertname=InstanceDown severity=critical":                            "page",
		"alertname=ErrorBudgetBurnFast severity=critical slo=api-latency":     "page",
		"alertname=DeployRolledBack severity=warning":                         "ticket",
		"alertname=ErrorBudgetBurnSlow severity=warning slo=api-availability": "ticket",
		"alertname=Unlabelled":                                                "ticket",
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerConfig}, strings.Fields(labels)...)
		cmd := execIn(t, amtool, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr // a warning about --alertmanager.url, not the answer
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("amtool %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: routed to %q, want %q", labels, got, want)
		}
	}
}

// Every secret alertmanager.yml reads is a file under secretsDir, and no
// URL of a chat webhook or password is written into it.
func TestAlertmanagerSecretsComeFromFiles(t *testing.T) {
	var cfg map[string]any
	mustReadYAML(t, alertmanagerConfig, &cfg)
	global := cfg["global"].(map[string]any)
	if _, ok := global["smtp_auth_password"]; ok {
		t.Error("smtp_auth_password is written in the file; use smtp_auth_password_file")
	}
	if f, _ := global["smtp_auth_password_file"].(string); !strings.HasPrefix(f, secretsDir) {
		t.Errorf("smtp_auth_password_file %q, want a file under %s", f, secretsDir)
	}
	var chats int
	for _, r := range cfg["receivers"].([]any) {
		rc := r.(map[string]any)
		for _, s := range asList(rc["slack_configs"]) {
			sc := s.(map[string]any)
			chats++
			if _, ok := sc["api_url"]; ok {
				t.Errorf("receiver %v: api_url is written in the file; use api_url_file", rc["name"])
			}
			if f, _ := sc["api_url_file"].(string); !strings.HasPrefix(f, secretsDir) {
				t.Errorf("receiver %v: api_url_file %q, want a file under %s", rc["name"], f, secretsDir)
			}
		}
		if len(asList(rc["email_configs"])) == 0 {
			t.Errorf("receiver %v sends no e-mail", rc["name"])
		}
	}
	if chats < 2 {
		t.Errorf("%d chat receivers, want one for pages and one for tickets", chats)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestAlertsReachAPerson runs the delivery path for real: two MealSync
// instances, Debian's node_exporter reading the state directory of a real
// mealsyncctl, Prometheus with the repository's rules, and Debian's
// Alertmanager with the repository's routing, its chat secrets pointing at
// a receiver in this test and its e-mail going through an SMTP relay in
// this test (STARTTLS, then a login with the password of the secret file).
// Test substitutions, and only these: 1 s scrape and evaluation intervals;
// each rule's `for` and `keep_firing_for` divided by 15 (a minute becomes
// 4 s); Alertmanager's group_wait 3 s and group_interval 2 s; the secret
// files written by the test; the SMTP host the test's relay, whose
// self-signed certificate the e-mail receivers are told to trust.
//
//  1. One instance stops: exactly one page arrives, grouped (InstanceDown for
//     that instance), in the chat and by e-mail; once it is back, the
//     resolved message.
//  2. A deploy rolls back: the ticket receiver gets DeployRolledBack, in the
//     chat and by e-mail.
//  3. Every instance dies at once: exactly one page, NoInstanceUp, in the
//     chat and by e-mail, the InstanceDown alerts held back by it; once the
//     instances are back, its resolved message, and still no InstanceDown
//     page.
func TestAlertsReachAPerson(t *testing.T) {
	if testing.Short() {
		t.Skip("runs MealSync, mealsyncctl, nginx, node_exporter, Prometheus and Alertmanager")
	}
	promBin := requireTool(t, "prometheus")
	amBin := requireProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	nodeBin := requireProgram(t, "prometheus-node-exporter", "prometheus-node-exporter")
	testenv.RequireNginx(t)

	chat := &chatReceiver{}
	srv := httptest.NewServer(chat)
	t.Cleanup(srv.Close)
	oncall, team := receiverMailbox(t, "page"), receiverMailbox(t, "ticket")

	dir := t.TempDir()
	amConfig, relay := testAlertmanagerConfig(t, dir, srv.URL)
	am := startServer(t, "alertmanager", amBin, func(addr string) []string {
		return []string{
			"--config.file=" + amConfig,
			"--storage.path=" + filepath.Join(dir, "am-data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=", // no gossip port: a single Alertmanager
		}
	}, "/-/ready")

	// mealsyncctl's state directory, node_exporter's textfile directory.
	stateDir := filepath.Join(dir, "mealsyncctl")
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	node := startServer(t, "node_exporter", nodeBin, func(addr string) []string {
		return []string{"--web.listen-address=" + addr, "--collector.disable-defaults", "--collector.textfile",
			"--collector.textfile.directory=" + stateDir}
	}, "/metrics")

	bin := testenv.BuildMealsync(t)
	opsA, opsB := freeLoopbackAddr(t), freeLoopbackAddr(t)
	start := func(ops string) *testenv.Instance {
		return testenv.StartMealsync(t, testenv.Options{Binary: bin, Env: map[string]string{"MEALSYNC_OPS_ADDR": ops}})
	}
	a, b := start(opsA), start(opsB)

	cfg := derivePrometheusConfig(t, map[string]func(map[string]any){
		"mealsync": func(job map[string]any) {
			delete(job, "dns_sd_configs")
			delete(job, "file_sd_configs")
			job["static_configs"] = []any{map[string]any{"targets": []any{opsA, opsB}}}
		},
		"node": func(job map[string]any) {
			job["static_configs"] = []any{map[string]any{"targets": []any{strings.TrimPrefix(node, "http://")}}}
		},
	})
	scaleRuleFor(t, cfg, dir, 15)
	alerting, _ := cfg["alerting"].(map[string]any)
	if alerting == nil {
		t.Fatal("prometheus.yml has no alerting section")
	}
	alerting["alertmanagers"] = []any{map[string]any{"static_configs": []any{map[string]any{"targets": []any{strings.TrimPrefix(am, "http://")}}}}}
	prom := startPrometheus(t, promBin, marshalConfig(t, cfg))

	const deadline = 90 * time.Second
	waitFor(t, deadline, "both instances up", func() (bool, string) {
		res, err := prom.query(`sum(up{job="mealsync"})`)
		return err == nil && len(res) == 1 && res[0].Value == 2, fmt.Sprintf("%v %v", res, err)
	})

	t.Run("an instance down pages once, then resolves", func(t *testing.T) {
		if err := a.Stop(); err != nil {
			t.Logf("stop %s: %v", opsA, err)
		}
		down := "firing InstanceDown " + opsA + ":"
		first := chat.waitFor(t, deadline, "/page", "the page for "+opsA, func(n notification) bool {
			return strings.Contains(n.Text, down)
		})
		if n := strings.Count(first.Text, "firing InstanceDown"); n != 1 || !strings.HasPrefix(first.Title, "[FIRING:1] InstanceDown") {
			t.Errorf("page %q lists %d down instances, want 1 (%s):\n%s", first.Title, n, opsA, first.Text)
		}
		if !strings.Contains(first.Text, "runbook: docs/INFRASTRUCTURE.md#alert-instancedown") {
			t.Errorf("page without its runbook:\n%s", first.Text)
		}
		mail := relay.waitFor(t, deadline, oncall, "the page for "+opsA, func(e email) bool {
			return strings.HasPrefix(e.Subject, "[FIRING:1] InstanceDown")
		})
		if !strings.Contains(mail.Text, down) || !strings.Contains(mail.Text, "runbook: docs/INFRASTRUCTURE.md#alert-instancedown") ||
			!strings.Contains(mail.HTML, opsA) {
			t.Errorf("the e-mail page does not name %s and its runbook:\n%s\n%s", opsA, mail, mail.HTML)
		}

		a = start(opsA)
		chat.waitFor(t, deadline, "/page", "the resolved message for "+opsA, func(n notification) bool {
			return strings.HasPrefix(n.Title, "[RESOLVED] InstanceDown") && strings.Contains(n.Text, "resolved InstanceDown "+opsA+":")
		})
		relay.waitFor(t, deadline, oncall, "the resolved message for "+opsA, func(e email) bool {
			return strings.HasPrefix(e.Subject, "[RESOLVED] InstanceDown") && strings.Contains(e.Text, "resolved InstanceDown "+opsA+":")
		})
		if firing := firingPages(chat.all("/page"), relay.all(oncall)); len(firing) != 2 {
			t.Errorf("%d firing pages, want exactly 1 in the chat and 1 by e-mail:\n%s", len(firing), strings.Join(firing, "\n---\n"))
		}
		if got, mails := chat.all("/ticket"), relay.all(team); len(got)+len(mails) != 0 {
			t.Errorf("an instance down filed tickets: %v %v", got, mails)
		}
	})

	t.Run("a rolled-back deploy files a ticket", func(t *testing.T) {
		rollBackADeploy(t, bin, dir, stateDir)
		n := chat.waitFor(t, deadline, "/ticket", "the DeployRolledBack ticket", func(n notification) bool {
			return strings.Contains(n.Text, "firing DeployRolledBack")
		})
		if !strings.Contains(n.Text, "runbook: docs/INFRASTRUCTURE.md#alert-deployrolledback") {
			t.Errorf("ticket without its runbook:\n%s", n.Text)
		}
		relay.waitFor(t, deadline, team, "the DeployRolledBack ticket", func(e email) bool {
			return strings.HasPrefix(e.Subject, "[FIRING:1] DeployRolledBack") && strings.Contains(e.Text, "firing DeployRolledBack")
		})
		for _, p := range firingPages(chat.all("/page"), relay.all(oncall)) {
			if strings.Contains(p, "DeployRolledBack") {
				t.Errorf("a rollback paged: %s", p)
			}
		}
	})

	t.Run("with no instance up, exactly one page: NoInstanceUp", func(t *testing.T) {
		chatBefore, mailBefore := len(chat.all("/page")), len(relay.all(oncall))
		since := func() []string { // the pages of this subtest
			return firingPages(chat.all("/page")[chatBefore:], relay.all(oncall)[mailBefore:])
		}
		// A crash of the whole service: both at the same moment.
		a.Kill()
		b.Kill()
		chat.waitFor(t, deadline, "/page", "the NoInstanceUp page", func(n notification) bool {
			return strings.HasPrefix(n.Title, "[FIRING:1] NoInstanceUp") && strings.Contains(n.Text, "firing NoInstanceUp")
		})
		relay.waitFor(t, deadline, oncall, "the NoInstanceUp page", func(e email) bool {
			return strings.HasPrefix(e.Subject, "[FIRING:1] NoInstanceUp") &&
				strings.Contains(e.Text, "runbook: docs/INFRASTRUCTURE.md#alert-noinstanceup")
		})
		waitFor(t, deadline, "both InstanceDown alerts inhibited by NoInstanceUp", func() (bool, string) {
			alerts, err := amAlerts(am, `alertname="InstanceDown"`)
			if err != nil {
				return false, err.Error()
			}
			inhibited := 0
			for _, a := range alerts {
				if a.Status.State == "suppressed" && len(a.Status.InhibitedBy) > 0 {
					inhibited++
				}
			}
			return inhibited == 2, fmt.Sprintf("%+v", alerts)
		})

		// Both come back. NoInstanceUp keeps firing for its keep_firing_for
		// (4 s here) after the first answers: longer than the InstanceDown
		// group's group_wait, so that group has been flushed (and found
		// inhibited) by the time the resolved message arrives, and the
		// second instance is back before the inhibition ends.
		restart := time.Now()
		a, b = start(opsA), start(opsB)
		t.Logf("both instances back within %v (NoInstanceUp's keep_firing_for is 4s here)", time.Since(restart).Round(time.Millisecond))
		chat.waitFor(t, deadline, "/page", "the resolved NoInstanceUp message", func(n notification) bool {
			return strings.HasPrefix(n.Title, "[RESOLVED] NoInstanceUp")
		})
		relay.waitFor(t, deadline, oncall, "the resolved NoInstanceUp message", func(e email) bool {
			return strings.HasPrefix(e.Subject, "[RESOLVED] NoInstanceUp")
		})
		waitFor(t, deadline, "the InstanceDown alerts resolved", func() (bool, string) {
			alerts, err := amAlerts(am, `alertname="InstanceDown"`)
			return err == nil && len(alerts) == 0, fmt.Sprintf("%+v %v", alerts, err)
		})
		pages := since()
		if len(pages) != 2 || !strings.Contains(pages[0], "NoInstanceUp") || !strings.Contains(pages[1], "NoInstanceUp") {
			t.Errorf("%d firing pages, want exactly NoInstanceUp in the chat and by e-mail:\n%s", len(pages), strings.Join(pages, "\n---\n"))
		}
	})
}

// firingPages lists the firing notifications among chat messages and
// e-mails, one text each.
func firingPages(chats []notification, mails []email) []string {
	var out []string
	for _, n := range chats {
		if strings.HasPrefix(n.Title, "[FIRING") {
			out = append(out, "chat: "+n.Title+"\n"+n.Text)
		}
	}
	for _, e := range mails {
		if strings.HasPrefix(e.Subject, "[FIRING") {
			out = append(out, "e-mail: "+e.String())
		}
	}
	return out
}

// receiverMailbox is the address alertmanager.yml's receiver sends e-mail
// to.
func receiverMailbox(t *testing.T, receiver string) string {
	t.Helper()
	var cfg map[string]any
	mustReadYAML(t, alertmanagerConfig, &cfg)
	for _, r := range cfg["receivers"].([]any) {
		rc := r.(map[string]any)
		if rc["name"] != receiver {
			continue
		}
		for _, e := range asList(rc["email_configs"]) {
			if to, _ := e.(map[string]any)["to"].(string); to != "" {
				return to
			}
		}
	}
	t.Fatalf("alertmanager.yml: receiver %q sends no e-mail", receiver)
	return ""
}

// testAlertmanagerConfig writes the test's copy of alertmanager.yml (see
// TestAlertsReachAPerson for the substitutions) and its secret files, and
// starts the mail relay it sends through, which accepts the account of
// smtp_auth_username with the password of the secret file.
func testAlertmanagerConfig(t *testing.T, dir, chatURL string) (string, *mailServer) {
	t.Helper()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	const smtpPassword = "test-only-password"
	for name, value := range map[string]string{
		"smtp_password":   smtpPassword,
		"page_chat_url":   chatURL + "/page",
		"ticket_chat_url": chatURL + "/ticket",
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	moveSecret := func(m map[string]any, key string) {
		f, _ := m[key].(string)
		rest, ok := strings.CutPrefix(f, secretsDir)
		if !ok {
			t.Fatalf("%s %q is not under %s", key, f, secretsDir)
		}
		if _, err := os.Stat(filepath.Join(secrets, rest)); err != nil {
			t.Fatalf("%s names a secret the test does not provide: %v", key, err)
		}
		m[key] = filepath.Join(secrets, rest)
	}

	var cfg map[string]any
	mustReadYAML(t, alertmanagerConfig, &cfg)
	global := cfg["global"].(map[string]any)
	user, _ := global["smtp_auth_username"].(string)
	if user == "" || global["smtp_require_tls"] != true {
		t.Fatalf("alertmanager.yml: smtp_auth_username %q, smtp_require_tls %v; want an account, over TLS", user, global["smtp_require_tls"])
	}
	relay := startMailServer(t, dir, user, smtpPassword)
	global["smtp_smarthost"] = relay.Addr
	moveSecret(global, "smtp_auth_password_file")
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = "3s", "2s"
	for _, r := range cfg["receivers"].([]any) {
		for _, s := range asList(r.(map[string]any)["slack_configs"]) {
			moveSecret(s.(map[string]any), "api_url_file")
		}
		for _, e := range asList(r.(map[string]any)["email_configs"]) {
			e.(map[string]any)["tls_config"] = map[string]any{"ca_file": relay.CAFile}
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, relay
}

// scaleRuleFor writes copies of the rule files in which every alert's `for`
// and `keep_firing_for` is divided by factor, and points cfg's rule_files at
// them.
func scaleRuleFor(t *testing.T, cfg map[string]any, dir string, factor time.Duration) {
	t.Helper()
	files := cfg["rule_files"].([]any)
	for i, f := range files {
		var rules map[string]any
		b, err := os.ReadFile(f.(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &rules); err != nil {
			t.Fatal(err)
		}
		for _, g := range asList(rules["groups"]) {
			for _, r := range asList(g.(map[string]any)["rules"]) {
				rule := r.(map[string]any)
				for _, key := range []string{"for", "keep_firing_for"} {
					if s, ok := rule[key].(string); ok {
						d, err := time.ParseDuration(s)
						if err != nil {
							t.Fatalf("%s %q: %v", key, s, err)
						}
						rule[key] = (d / factor).String()
					}
				}
			}
		}
		out, err := yaml.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		scaled := filepath.Join(dir, fmt.Sprintf("rules-%d-%s", i, filepath.Base(f.(string))))
		if err := os.WriteFile(scaled, out, 0o644); err != nil {
			t.Fatal(err)
		}
		files[i] = scaled
	}
}

// rollBackADeploy runs the real mealsyncctl with the process driver behind
// the repository's nginx: a first deploy that succeeds, then one whose
// instances cannot reach their database, which the gate rolls back. The
// instance it leaves running is stopped when the test ends.
func rollBackADeploy(t *testing.T, bin, dir, stateDir string) {
	t.Helper()
	ctl := testenv.Build(t, "./cmd/mealsyncctl")
	edge := testenv.StartNginx(t, "", []string{"127.0.0.1:1"})
	work := filepath.Join(dir, "deploys")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	env := func(name string, lines ...string) string {
		p := filepath.Join(work, name+".env")
		base := []string{"MEALSYNC_ENV=development", "MEALSYNC_LOG_FORMAT=json", "MEALSYNC_SHUTDOWN_DELAY=0s",
			"MEALSYNC_JWT_SECRET=monitoring-test-secret-shared-by-instances"}
		if err := os.WriteFile(p, []byte(strings.Join(append(base, lines...), "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := env("good", "MEALSYNC_DATABASE_URL=sqlite:"+filepath.Join(work, "mealsync.db"))
	broken := env("broken", "MEALSYNC_DATABASE_URL=postgres://mealsync@127.0.0.1:1/mealsync?sslmode=disable&connect_timeout=1")
	deploy := func(envFile, version string) (string, error) {
		cmd := exec.Command(ctl, "deploy", "--binary", bin, "--env-file", envFile, "--workdir", work,
			"--state-dir", stateDir, "--version", version, "--verify", "1s", "--ready-timeout", "30s", "--stop-timeout", "10s",
			"--nginx", edge.Binary, "--nginx-conf", filepath.Join(edge.Prefix, "nginx.conf"),
			"--nginx-prefix", edge.Prefix+"/", "--upstream-file", edge.UpstreamFile)
		cmd.Env = environWithout("MEALSYNC_", "MEALSYNCCTL_")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { stopDeployed(t, ctl, stateDir) })
	if out, err := deploy(good, "v1"); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, out)
	}
	out, err := deploy(broken, "v2-no-database")
	if err == nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("the broken deploy was not rolled back (%v):\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "metrics.prom"))
	if err != nil || !strings.Contains(string(b), `mealsync_deploys_total{outcome="rolled_back"} 1`) {
		t.Fatalf("metrics.prom (%v):\n%s", err, b)
	}
}

// stopDeployed stops the instances mealsyncctl left running, by the pids its
// status reports.
func stopDeployed(t *testing.T, ctl, stateDir string) {
	out, err := exec.Command(ctl, "status", "--json", "--state-dir", stateDir).Output()
	if err != nil {
		t.Logf("mealsyncctl status: %v", err)
		return
	}
	var st struct {
		Instances []struct {
			PID int `json:"pid"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Logf("mealsyncctl status --json: %v\n%s", err, out)
		return
	}
	for _, in := range st.Instances {
		if p, err := os.FindProcess(in.PID); err == nil && in.PID > 0 {
			p.Signal(syscall.SIGTERM)
		}
	}
}

type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// amAlerts lists Alertmanager's alerts matching filter, inhibited included.
func amAlerts(base, filter string) ([]amAlert, error) {
	resp, err := httpClient.Get(base + "/api/v2/alerts?" + url.Values{"filter": {filter}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []amAlert
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// notification is one chat message as Alertmanager's Slack-format webhook
// sends it.
type notification struct {
	Title, Text string
}

// chatReceiver plays the chat service's incoming webhook: it keeps every
// message by path (/page, /ticket).
type chatReceiver struct {
	mu  sync.Mutex
	got map[string][]notification
}

func (c *chatReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Attachments []struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"attachments"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || len(msg.Attachments) != 1 {
		http.Error(w, fmt.Sprintf("want one attachment: %v", err), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string][]notification{}
	}
	c.got[r.URL.Path] = append(c.got[r.URL.Path], notification{msg.Attachments[0].Title, msg.Attachments[0].Text})
	w.Write([]byte("ok"))
}

func (c *chatReceiver) all(path string) []notification {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]notification(nil), c.got[path]...)
}

// waitFor waits until a message to path matches, and returns it.
func (c *chatReceiver) waitFor(t *testing.T, timeout time.Duration, path, what string, match func(notification) bool) notification {
	t.Helper()
	var found notification
	waitFor(t, timeout, what, func() (bool, string) {
		all := c.all(path)
		for _, n := range all {
			if match(n) {
				found = n
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s got %v", path, all)
	})
	return found
}

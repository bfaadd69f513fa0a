// Command fakedocker stands in for the docker CLI in the compose driver's
// tests, on machines without a Docker engine. It keeps its containers in
// $FAKE_DOCKER_DIR/state.json, appends every call to calls.log (one line of
// arguments, with MEALSYNC_TAG when set), and answers the subcommands the
// driver uses the way Docker does: `compose ps -q`, `compose up --scale`,
// `compose exec -T nginx nginx …`, `inspect --format` (a real Go template
// over an inspect-shaped object), `stop -t`, `rm` and `logs --tail`.
//
// A container's behaviour follows its image tag: a tag containing "never"
// never becomes healthy; "crash" turns healthy, then exits after two more
// inspections of its health; anything else is "starting" for one inspection
// and "healthy" after. When $FAKE_DOCKER_DIR/nginx-reject exists, `nginx -t`
// fails the way nginx does. Calls may run at once (the engine probes
// instances in parallel): each takes an exclusive lock on the state first,
// as the Docker daemon serialises changes to one container.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
)

type container struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Image   string `json:"image"`
	Status  string `json:"status"` // running, exited
	IP      string `json:"ip"`
	Probes  int    `json:"probes"` // health inspections so far
}

type state struct {
	Seq        int          `json:"seq"`
	Containers []*container `json:"containers"`
	Reloads    int          `json:"reloads"`
}

func main() {
	dir := os.Getenv("FAKE_DOCKER_DIR")
	if dir == "" {
		fail("FAKE_DOCKER_DIR is not set")
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fail(err.Error())
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fail(err.Error())
	}
	// Released when the process exits.
	line := strings.Join(os.Args[1:], " ")
	if tag := os.Getenv("MEALSYNC_TAG"); tag != "" {
		line = "MEALSYNC_TAG=" + tag + " " + line
	}
	f, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fail(err.Error())
	}
	fmt.Fprintln(f, line)
	f.Close()

	st := load(dir)
	defer save(dir, st)
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "compose" {
		compose(dir, st, args[1:])
		return
	}
	if len(args) == 0 {
		fail("usage: docker COMMAND")
	}
	switch args[0] {
	case "inspect":
		inspect(st, args[1:])
	case "stop":
		c := find(st, args[len(args)-1])
		c.Status = "exited"
		fmt.Println(args[len(args)-1])
	case "rm":
		id := args[len(args)-1]
		c := find(st, id)
		if c.Status == "running" {
			save(dir, st)
			fail("Error response from daemon: cannot remove container " + id + ": container is running: stop the container before removing or force remove")
		}
		out := st.Containers[:0]
		for _, x := range st.Containers {
			if x.ID != id {
				out = append(out, x)
			}
		}
		st.Containers = out
		fmt.Println(id)
	case "logs":
		c := find(st, args[len(args)-1])
		fmt.Printf("{\"level\":\"INFO\",\"msg\":\"starting\",\"image\":%q}\n", c.Image)
		if strings.Contains(c.Image, "crash") || strings.Contains(c.Image, "never") {
			fmt.Fprintf(os.Stderr, "{\"level\":\"ERROR\",\"msg\":\"database: connection refused\",\"image\":%q}\n", c.Image)
		}
	default:
		fail("fakedocker: unsupported command " + args[0])
	}
}

func compose(dir string, st *state, args []string) {
	// compose -f FILE <cmd> …
	for len(args) >= 2 && args[0] == "-f" {
		args = args[2:]
	}
	if len(args) == 0 {
		fail("usage: docker compose COMMAND")
	}
	switch args[0] {
	case "ps": // ps -q SERVICE: running containers
		svc := args[len(args)-1]
		for _, c := range st.Containers {
			if c.Service == svc && c.Status == "running" {
				fmt.Println(c.ID)
			}
		}
	case "up": // up -d --no-deps --no-recreate --scale SVC=N SVC
		var svc string
		var n int
		for i, a := range args {
			if a == "--scale" && i+1 < len(args) {
				s, v, _ := strings.Cut(args[i+1], "=")
				svc = s
				n, _ = strconv.Atoi(v)
			}
		}
		if svc == "" || !contains(args, "--no-recreate") {
			fail("fakedocker: up without --scale or --no-recreate would recreate containers")
		}
		tag := os.Getenv("MEALSYNC_TAG")
		if tag == "" {
			tag = "latest"
		}
		running := 0
		for _, c := range st.Containers {
			if c.Service == svc && c.Status == "running" {
				running++
			}
		}
		for ; running < n; running++ {
			st.Seq++
			st.Containers = append(st.Containers, &container{
				ID:      fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint("container", st.Seq)))),
				Service: svc, Image: "mealsync:" + tag, Status: "running",
				IP: fmt.Sprintf("127.0.10.%d", st.Seq),
			})
		}
		fmt.Fprintf(os.Stderr, " Container mealsync-%s-%d  Started\n", svc, st.Seq)
	case "exec": // exec -T nginx nginx -t|-s reload
		if contains(args, "-t") {
			if _, err := os.Stat(filepath.Join(dir, "nginx-reject")); err == nil {
				save(dir, st)
				fmt.Fprintln(os.Stderr, `nginx: [emerg] invalid port in upstream "127.0.10.1:99999" in /etc/nginx/upstream.conf:4`)
				fmt.Fprintln(os.Stderr, "nginx: configuration file /etc/nginx/nginx.conf test failed")
				os.Exit(1)
			}
			return
		}
		if contains(args, "reload") {
			st.Reloads++
			return
		}
		fail("fakedocker: unsupported exec " + strings.Join(args, " "))
	default:
		fail("fakedocker: unsupported compose command " + args[0])
	}
}

func inspect(st *state, args []string) {
	var format string
	var ids []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--format" || args[i] == "-f" {
			format = args[i+1]
			i++
			continue
		}
		ids = append(ids, args[i])
	}
	tmpl, err := template.New("format").Parse(format)
	if err != nil {
		fail("template parsing error: " + err.Error())
	}
	for _, id := range ids {
		c := find(st, id)
		var health any
		if strings.Contains(format, "Health") {
			health = c.health()
		}
		obj := map[string]any{
			"Id": c.ID,
			"State": map[string]any{
				"Status": c.Status,
				"Health": health,
			},
			"Config": map[string]any{"Image": c.Image},
			"NetworkSettings": map[string]any{"Networks": map[string]any{
				"mealsync_default": map[string]any{"IPAddress": c.IP},
			}},
		}
		if err := tmpl.Execute(os.Stdout, obj); err != nil {
			fail("template: " + err.Error())
		}
		fmt.Println()
	}
}

// health advances the container through its tag's script.
func (c *container) health() map[string]any {
	c.Probes++
	status := "healthy"
	switch {
	case strings.Contains(c.Image, "never"):
		status = "starting"
		if c.Probes > 2 {
			status = "unhealthy"
		}
	case c.Probes <= 1:
		status = "starting"
	case strings.Contains(c.Image, "crash") && c.Probes > 3:
		c.Status = "exited"
	}
	return map[string]any{"Status": status}
}

func find(st *state, id string) *container {
	for _, c := range st.Containers {
		if c.ID == id || strings.HasPrefix(c.ID, id) && len(id) >= 12 {
			return c
		}
	}
	fmt.Fprintln(os.Stderr, "Error: No such object: "+id)
	os.Exit(1)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func load(dir string) *state {
	st := &state{}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err == nil {
		if err := json.Unmarshal(b, st); err != nil {
			fail(err.Error())
		}
	}
	return st
}

func save(dir string, st *state) {
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := filepath.Join(dir, "state.json.tmp")
	os.WriteFile(tmp, b, 0o644)
	os.Rename(tmp, filepath.Join(dir, "state.json"))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

package mealsync_test

import (
	"errors"
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layers of docs/ARCHITECTURE.md. Every package of the module is in
// one; imports may point only the ways allowedImports lists.
const (
	layerDomain     = "domain"     // the module root: types, rules, errors, interfaces
	layerRules      = "rules"      // pure business rules on domain types
	layerService    = "service"    // business logic: combines stores and rules
	layerEdge       = "edge"       // HTTP: translates requests to service calls
	layerAdapter    = "adapter"    // implements domain interfaces (storage, providers)
	layerFoundation = "foundation" // knows nothing of the domain
	layerTool       = "tool"       // operations and test tooling, beside the service
	layerCmd        = "cmd"        // binaries: build everything, in run
)

// layers places each package (by its path in the module; a prefix ending
// in "/" covers a folder). A new package must be placed here: where it
// belongs is a decision, not an accident.
var layers = map[string]string{
	"":                      layerDomain,
	"internal/ranking":      layerRules,
	"internal/mealplan":     layerRules,
	"internal/kitchen":      layerService,
	"internal/households":   layerService,
	"internal/auth":         layerService,
	"internal/idempotency":  layerService,
	"internal/api":          layerEdge,
	"internal/sqldb":        layerAdapter,
	"internal/sqldb/":       layerAdapter,
	"internal/blob":         layerAdapter,
	"internal/generate":     layerAdapter,
	"internal/catalog":      layerAdapter,
	"internal/catalogindex": layerAdapter,
	"internal/usercache":    layerAdapter,
	"internal/buildinfo":    layerFoundation,
	"internal/config":       layerFoundation,
	"internal/metrics":      layerFoundation,
	"internal/live":         layerFoundation,
	"internal/web":          layerFoundation, // the web app's files; a client of the API, not part of it
	"internal/backup":       layerTool,
	"internal/rollout":      layerTool,
	"internal/monitor":      layerTool,
	"internal/loadtest":     layerTool,
	"internal/syncsim":      layerTool,
	"internal/testdb":       layerTool,
	"internal/testenv":      layerTool,
	"test/":                 layerTool,
	"cmd/":                  layerCmd,
}

// allowedImports says which layers a layer may import. Imports point down:
// nothing imports the edge or a binary, the domain imports nothing of the
// module, a service never reaches an adapter (it gets the domain's
// interfaces), and the edge never reaches past the services to the rules
// or the storage.
var allowedImports = map[string][]string{
	layerDomain:     {},
	layerRules:      {layerDomain},
	layerService:    {layerDomain, layerRules},
	layerEdge:       {layerDomain, layerService, layerFoundation},
	layerAdapter:    {layerDomain, layerRules, layerFoundation},
	layerFoundation: {},
	layerTool:       {layerDomain, layerRules, layerAdapter, layerFoundation, layerTool},
	layerCmd:        {layerDomain, layerRules, layerService, layerEdge, layerAdapter, layerFoundation, layerTool, layerCmd},
}

// exceptions are single imports the layers would refuse, each with its
// reason.
var exceptions = map[[2]string]string{
	// The edge mounts the image store's own handler on GET /images/; the
	// handler reports errors through the edge's error writer, passed in.
	{"internal/api", "internal/blob"}: "serves stored images",
}

const module = "github.com/mealsync/mealsync"

func layerOf(rel string) (string, bool) {
	if l, ok := layers[rel]; ok {
		return l, true
	}
	best := ""
	for prefix := range layers {
		if strings.HasSuffix(prefix, "/") && strings.HasPrefix(rel, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	return layers[best], best != ""
}

// moduleImports returns, for each package of the module, the packages of
// the module its non-test files import (for this platform's build).
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); dir != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(dir)
		if rel == "." {
			rel = ""
		}
		var imports []string
		for _, imp := range pkg.Imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				imports = append(imports, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			}
		}
		out[rel] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportsPointDown(t *testing.T) {
	graph := moduleImports(t)
	for _, must := range []string{"", "internal/api", "internal/kitchen", "internal/sqldb", "cmd/mealsync"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("package %q not found: the walk is broken", must)
		}
	}
	for pkg, imports := range graph {
		from, ok := layerOf(pkg)
		if !ok {
			t.Errorf("package %q is in no layer: place it in imports_test.go and docs/ARCHITECTURE.md", pkg)
			continue
		}
		for _, imp := range imports {
			to, ok := layerOf(imp)
			switch {
			case !ok:
				continue // reported as a package of its own
			case exceptions[[2]string{pkg, imp}] != "":
			case from == layerAdapter && to == layerAdapter:
				// Never another adapter; its own subpackages are its own.
				if !strings.HasPrefix(imp, pkg+"/") && !strings.HasPrefix(pkg, imp+"/") {
					t.Errorf("adapter %s imports adapter %s: adapters implement the domain's interfaces and never use one another", pkg, imp)
				}
			case !slices.Contains(allowedImports[from], to):
				t.Errorf("%s (%s layer) imports %s (%s layer): the %s layer may import only %v", show(pkg), from, show(imp), to, from, allowedImports[from])
			}
		}
	}
}

func show(rel string) string {
	if rel == "" {
		return "the module root"
	}
	return rel
}

package magetools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/gantry-build/gantry/internal/adopt"
	"github.com/gantry-build/gantry/internal/conformance"
	"github.com/gantry-build/gantry/internal/fixtures"
	"github.com/gantry-build/gantry/internal/testsvc"
	"github.com/gantry-build/gantry/magetools/config"
)

// TestInitOutputPassesCheck is the invariant of issue 18: in a repository
// laid out as real services are, `gantry init` with no flags either
// succeeds, and then `mage check` (after the commit a developer makes)
// finds no error and what mage build compiles loads (after its Prepare
// command), or fails with an error that says how to fix what it could
// not. It runs over every fixture and over generated repository
// shapes: each dimension's values one at a time from a baseline (so a
// failure names the dimension), then seeded combinations of all.
//
// In-process and offline: Init gets the Gantry checkout as a replace (as
// adopt's tests do; Mage and Gantry's dependencies come from the module
// cache, GOPROXY=off), and check runs as the target does: the magefile's
// init() applied to Config, then readSession and conformance.Check. Not
// parallel: Config and the environment are the process's.
func TestInitOutputPassesCheck(t *testing.T) {
	root := testsvc.Root(t)
	version, err := adopt.Version("", "(devel)", root)
	if err != nil {
		t.Fatal(err)
	}
	cleanEnv(t)
	// Whatever Init and check run must come from the module cache: a
	// shape needing the network is a failure of its own, not a slow test.
	// The fixtures tidy against the proxy first, in Clone.
	offline := func(t *testing.T) {
		t.Setenv("GOPROXY", "off")
		t.Setenv("GOFLAGS", "")
	}

	for _, f := range fixtures.All {
		t.Run("fixture "+f.Name, func(t *testing.T) {
			svc := f.Clone(t)
			offline(t)
			assertInvariant(t, "fixture "+f.Name, svc, root, version)
		})
	}
	for _, s := range shapes() {
		t.Run(s.String(), func(t *testing.T) {
			offline(t)
			assertInvariant(t, s.String(), s.write(t), root, version)
		})
	}
}

// assertInvariant runs Init in svc (the module's directory of a checkout)
// and, when it succeeds, commits and checks.
func assertInvariant(t *testing.T, what string, svc *testsvc.Service, root, version string) {
	t.Helper()
	report, initErr := adopt.Init(context.Background(), adopt.Options{Dir: svc.Dir, Replace: root, GantryVersion: version})
	var printed bytes.Buffer
	if err := report.Write(&printed); err != nil {
		t.Fatal(err)
	}
	if initErr != nil {
		// What is left to fix, for the one who reads the failure.
		findings, checkErr := check(t, svc)
		if !namesAFix(initErr.Error()) {
			t.Errorf("%s: gantry init failed with an error that names no fix:\n  %v\n--- init's report ---\n%s--- mage check on what init left ---\n%s",
				what, initErr, printed.String(), describe(findings, checkErr))
		} else {
			t.Logf("%s: gantry init refused, saying how to fix it: %v", what, initErr)
		}
		return
	}
	svc.Commit(t, "adopt Gantry")
	findings, checkErr := check(t, svc)
	var errs []conformance.Finding
	for _, f := range findings {
		if f.Severity == conformance.Error {
			errs = append(errs, f)
		}
	}
	if checkErr != nil || len(errs) > 0 {
		t.Errorf("%s: gantry init succeeded, then mage check fails:\n%s--- init's report ---\n%s", what, describe(errs, checkErr), printed.String())
		return
	}
	// A check that passes a service whose build cannot compile tells the
	// team nothing: what mage build compiles, after its Prepare command,
	// must load.
	if broken := compiles(t, svc); broken != "" {
		t.Errorf("%s: gantry init succeeded and mage check passes, but mage build cannot compile the service:\n%s--- init's report ---\n%s", what, broken, printed.String())
	}
}

// compiles runs the Prepare command of the configuration (Config, as
// check left it), as mage build does first, then lists the main package's
// graph and returns the packages of the service's module that do not
// load, one a line with go's error; "" when all do.
func compiles(t *testing.T, svc *testsvc.Service) string {
	t.Helper()
	ctx := context.Background()
	var logged bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logged)
	s, err := readSession(ctx, logrus.NewEntry(log), true)
	if err != nil {
		return fmt.Sprintf("  the configuration: %v\n", err)
	}
	if len(s.cfg.Prepare) > 0 {
		if res := svc.Exec(t, nil, s.cfg.Prepare[0], s.cfg.Prepare[1:]...); res.Code != 0 {
			return fmt.Sprintf("  the Prepare command %q: exit %d\n%s", s.cfg.Prepare, res.Code, res.Stderr)
		}
	}
	g, err := conformance.ListPackages(s.cfg.Dir, s.cfg, logrus.NewEntry(log))(ctx)
	if err != nil {
		return fmt.Sprintf("  go list: %v\n", err)
	}
	var b strings.Builder
	for _, p := range g.Packages {
		if p.InMainModule() && p.Error != nil {
			fmt.Fprintf(&b, "  %s: %s\n", p.ImportPath, p.Error.Err)
		}
	}
	return b.String()
}

// check is `mage check` in svc, in this process: the magefile's init()
// applied to Config, the session read as the targets read it, and
// conformance.Check over it. checkErr is an error before any finding
// (the configuration refused, the event unreadable), which fails the
// target as an error finding does.
func check(t *testing.T, svc *testsvc.Service) (findings []conformance.Finding, checkErr error) {
	t.Helper()
	saved := Config
	t.Cleanup(func() { Config = saved })
	Config = config.Config{}
	magefile := filepath.Join(svc.Dir, "magefiles", "magefile.go")
	if _, err := os.Stat(magefile); err == nil {
		if err := applyMagefile(magefile, &Config); err != nil {
			return nil, err
		}
	}
	t.Setenv("GANTRY_DIR", svc.Dir)
	var logged bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logged)
	ctx := context.Background()
	s, err := readSession(ctx, logrus.NewEntry(log), false)
	if err != nil && !errors.Is(err, config.ErrNoImage) {
		return nil, fmt.Errorf("%w\n(logged: %s)", err, logged.String())
	}
	return conformance.Check(ctx, s.cfg.Dir, s.cfg, s.packages), nil
}

// describe lists findings one a line, as the target logs them.
func describe(findings []conformance.Finding, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "  mage check fails before checking: %v\n", err)
	}
	for _, f := range findings {
		fmt.Fprintf(&b, "  %s %s %s:%d: %s (fix: %s)\n", f.Severity, f.Rule, f.Path, f.Line, f.Message, f.Fix)
	}
	if b.Len() == 0 {
		return "  (no findings)\n"
	}
	return b.String()
}

// fixWords are how an error of Gantry's says what to do.
var fixWords = regexp.MustCompile(`(?i)\b(fix|set|add|remove|rename|run|pass|declare|delete|move|use|commit|name)\b|(^|\s)-[a-z]+`)

// namesAFix reports whether msg says what to do, not only what is wrong.
func namesAFix(msg string) bool { return fixWords.MatchString(msg) }

// applyMagefile does what the magefile's init() does to cfg, as mage
// would run it: init writes only assignments of literals to fields of
// magetools.Config (a string, a []string, a bool, a number).
func applyMagefile(path string, cfg *config.Config) error {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return fmt.Errorf("the magefile init wrote does not parse: %w", err)
	}
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "init" || fn.Recv != nil {
			continue
		}
		for _, stmt := range fn.Body.List {
			if err := applyAssignment(fset, stmt, cfg); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyAssignment(fset *token.FileSet, stmt ast.Stmt, cfg *config.Config) error {
	assign, ok := stmt.(*ast.AssignStmt)
	if !ok || len(assign.Lhs) != 1 || len(assign.Rhs) != 1 || assign.Tok != token.ASSIGN {
		return fmt.Errorf("%s: the magefile's init() holds a statement the test cannot run: only `magetools.Config.X = literal`", fset.Position(stmt.Pos()))
	}
	var fields []string
	for e := assign.Lhs[0]; ; {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			if id, ok := e.(*ast.Ident); !ok || id.Name != "magetools" || len(fields) < 2 || fields[len(fields)-1] != "Config" {
				return fmt.Errorf("%s: the magefile's init() assigns to something other than magetools.Config", fset.Position(stmt.Pos()))
			}
			break
		}
		fields = append(fields, sel.Sel.Name)
		e = sel.X
	}
	v := reflect.ValueOf(cfg).Elem()
	for i := len(fields) - 2; i >= 0; i-- { // fields is innermost first; skip Config
		if v = v.FieldByName(fields[i]); !v.IsValid() {
			return fmt.Errorf("%s: magetools.Config has no field %s", fset.Position(stmt.Pos()), fields[i])
		}
	}
	value, err := literal(assign.Rhs[0], v.Type())
	if err != nil {
		return fmt.Errorf("%s: %w", fset.Position(stmt.Pos()), err)
	}
	v.Set(value)
	return nil
}

// literal evaluates a literal of type typ.
func literal(e ast.Expr, typ reflect.Type) (reflect.Value, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		switch {
		case e.Kind == token.STRING && typ.Kind() == reflect.String:
			s, err := strconv.Unquote(e.Value)
			return reflect.ValueOf(s).Convert(typ), err
		case e.Kind == token.INT && typ.Kind() == reflect.Int:
			n, err := strconv.Atoi(e.Value)
			return reflect.ValueOf(n).Convert(typ), err
		}
	case *ast.Ident:
		if typ.Kind() == reflect.Bool && (e.Name == "true" || e.Name == "false") {
			return reflect.ValueOf(e.Name == "true").Convert(typ), nil
		}
	case *ast.CompositeLit:
		if typ.Kind() == reflect.Slice {
			s := reflect.MakeSlice(typ, 0, len(e.Elts))
			for _, elt := range e.Elts {
				v, err := literal(elt, typ.Elem())
				if err != nil {
					return reflect.Value{}, err
				}
				s = reflect.Append(s, v)
			}
			return s, nil
		}
	}
	return reflect.Value{}, fmt.Errorf("the magefile sets a %s field to %T, which the test cannot evaluate", typ, e)
}

// cleanEnv unsets what the caller's environment would add to a local
// mage check: GitHub Actions' variables and Gantry's overrides.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(key, "GITHUB_") || strings.HasPrefix(key, "GANTRY_") || strings.HasPrefix(key, "BUILDX_") || key == "CI" {
			t.Setenv(key, "") // restored after the test
			os.Unsetenv(key)
		}
	}
}

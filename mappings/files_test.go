package mappings_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/mappings"
)

// TestOneFilePerMapping: every mapping is declared alone, in a file named
// after its legacy table (and shape, where a table has several), and
// All's list names each declared mapping exactly once, so a mapping
// written but left out of the list fails here rather than go unused.
func TestOneFilePerMapping(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // variable -> file
	var fromFiles []string          // "legacy shape" of every declared mapping
	var listed []string             // the variables All's list names
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if name == "mappings.go" || name == "reasons.go" {
			listed = append(listed, allList(t, f)...)
			continue
		}
		var vars []*ast.ValueSpec
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, s := range gd.Specs {
					vars = append(vars, s.(*ast.ValueSpec))
				}
			} else {
				t.Errorf("%s declares more than its mapping", name)
			}
		}
		if len(vars) != 1 || len(vars[0].Names) != 1 {
			t.Errorf("%s declares %d variables, want its one mapping", name, len(vars))
			continue
		}
		legacy, shape := legacyOf(t, name, vars[0].Values[0])
		fromFiles = append(fromFiles, legacy+" "+shape)
		declared[vars[0].Names[0].Name] = name
		if want := strings.TrimSuffix(name, ".go"); legacy != want && legacy+"_"+shape != want {
			t.Errorf("%s holds the mapping of %s (shape %q): name the file after it", name, legacy, shape)
		}
	}

	var fromAll []string
	for _, m := range mappings.All() {
		fromAll = append(fromAll, m.Legacy+" "+string(m.Shape))
	}
	slices.Sort(fromAll)
	slices.Sort(fromFiles)
	if d := cmp.Diff(fromAll, fromFiles); d != "" {
		t.Errorf("the mappings of All and of the files (-All +files):\n%s", d)
	}
	seen := map[string]bool{}
	for _, v := range listed {
		if seen[v] {
			t.Errorf("All lists %s twice", v)
		}
		seen[v] = true
		if declared[v] == "" {
			t.Errorf("All lists %s, which no file of its own declares", v)
		}
	}
	for v, file := range declared {
		if !seen[v] {
			t.Errorf("%s declares the mapping %s, which All leaves out", file, v)
		}
	}
}

// allList returns the identifiers of the composite literal All returns,
// when file f declares All.
func allList(t *testing.T, f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "All" {
			continue
		}
		ret := fd.Body.List[len(fd.Body.List)-1].(*ast.ReturnStmt)
		for _, e := range ret.Results[0].(*ast.CompositeLit).Elts {
			id, ok := e.(*ast.Ident)
			if !ok {
				t.Fatalf("All's list holds %T, want the names of mappings", e)
			}
			out = append(out, id.Name)
		}
	}
	return out
}

// legacyOf reads the legacy table and shape of the mapping expression e
// of file name: a Mapping literal's Legacy and Shape, or the table a
// constructor such as ownedByUser is called with.
func legacyOf(t *testing.T, name string, e ast.Expr) (legacy, shape string) {
	switch e := e.(type) {
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch key := kv.Key.(*ast.Ident).Name; {
			case key == "Legacy":
				legacy = unquote(t, name, kv.Value)
			case key == "Shape":
				s, ok := map[string]mappings.Shape{"AnyShape": mappings.AnyShape, "ShapeV21": mappings.ShapeV21,
					"ShapeV16": mappings.ShapeV16, "ShapeV15": mappings.ShapeV15}[kv.Value.(*ast.Ident).Name]
				if !ok {
					t.Fatalf("%s: shape %s is none of the package's", name, kv.Value.(*ast.Ident).Name)
				}
				shape = string(s)
			}
		}
	case *ast.CallExpr:
		legacy = unquote(t, name, e.Args[0])
	default:
		t.Fatalf("%s: the mapping is a %T", name, e)
	}
	return legacy, shape
}

func unquote(t *testing.T, name string, e ast.Expr) string {
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		t.Fatalf("%s: the legacy table is not a string literal", name)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

package adopt

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"
)

// foreignMagefileError is the refusal to edit a magefile init did not
// write, and why it is not taken for Gantry's.
type foreignMagefileError struct {
	why string
	// path is the file's; "" for magefiles/magefile.go.
	path string
}

func (e foreignMagefileError) Error() string {
	return fmt.Sprintf("%s is not recognisably the one gantry init writes (a //go:build mage file importing %s/magetools): %s; set magetools.Config fields in its init() yourself, or rewrite it with -force=magefile", cmp.Or(e.path, magefilePath), Module, e.why)
}

// UpdateMagefile sets the settings in an existing magefile, in place: an
// assignment to magetools.Config.<Field> in init() has its value (and
// its trailing comment) replaced; a missing one is added to init(),
// which is added when there is none. An assignment without init's
// "// from" comment is the team's own: it is kept, and its field
// returned in kept, unless the setting is a flag's. Gantry's header
// comment, which `mage -l` prints, is rewritten to header. Everything
// else is kept. A file that is not Gantry's magefile is refused with a
// foreignMagefileError.
func UpdateMagefile(content []byte, settings []Setting, header string) (updated []byte, kept []string, err error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "magefile.go", content, parser.ParseComments)
	if err != nil {
		return nil, nil, foreignMagefileError{why: err.Error()}
	}
	if !bytes.Contains(content[:fset.Position(f.Package).Offset], []byte("//go:build mage")) {
		return nil, nil, foreignMagefileError{why: "it has no //go:build mage line"}
	}
	var imp *ast.ImportSpec
	for _, spec := range f.Imports {
		if path, _ := strconv.Unquote(spec.Path.Value); path == Module+"/magetools" {
			imp = spec
		}
	}
	if imp == nil {
		return nil, nil, foreignMagefileError{why: "it does not import " + Module + "/magetools"}
	}

	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	pkg := "magetools"
	switch {
	case imp.Name == nil:
	case imp.Name.Name == "_":
		// Named only when init() uses it (below): an unused import does
		// not compile.
	case imp.Name.Name == ".":
		return nil, nil, foreignMagefileError{why: "it dot-imports magetools"}
	default:
		pkg = imp.Name.Name
	}

	var inits []*ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" && fn.Body != nil {
			inits = append(inits, fn)
		}
	}
	var added []string
	for _, s := range settings {
		assign := findAssignment(inits, pkg, s.Field)
		if assign == nil {
			added = append(added, "\t"+s.statement(pkg)+"\n")
			continue
		}
		comment := trailingComment(fset, f.Comments, assign)
		if !s.Flag && (comment == nil || !strings.HasPrefix(comment.List[0].Text, commentPrefix)) {
			kept = append(kept, s.Field)
			continue
		}
		edits = append(edits, edit{offset(assign.Rhs[0].Pos()), offset(assign.Rhs[0].End()), s.expr()})
		if comment != nil {
			edits = append(edits, edit{offset(comment.Pos()), offset(comment.End()), s.comment()})
		} else {
			at := offset(assign.End())
			edits = append(edits, edit{at, at, " " + s.comment()})
		}
	}
	if len(added) > 0 && imp.Name != nil && imp.Name.Name == "_" {
		edits = append(edits, edit{offset(imp.Name.Pos()), offset(imp.Path.Pos()), ""})
	}
	switch {
	case len(added) == 0:
	case len(inits) > 0:
		at := offset(inits[len(inits)-1].Body.Rbrace)
		edits = append(edits, edit{at, at, strings.Join(added, "")})
	default:
		edits = append(edits, edit{len(content), len(content), "\nfunc init() {\n" + strings.Join(added, "") + "}\n"})
	}
	if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), headerPrefix) {
		edits = append(edits, edit{offset(f.Doc.Pos()), offset(f.Doc.End()) + 1, header})
	}

	slices.SortFunc(edits, func(a, b edit) int { return b.start - a.start })
	out := slices.Clone(content)
	for _, e := range edits {
		out = slices.Concat(out[:e.start], []byte(e.text), out[e.end:])
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, nil, fmt.Errorf("update magefiles/magefile.go: %w; rewrite it with -force=magefile", err)
	}
	return formatted, kept, nil
}

// trailingComment is the comment after the assignment on its line; nil
// when there is none.
func trailingComment(fset *token.FileSet, comments []*ast.CommentGroup, assign *ast.AssignStmt) *ast.CommentGroup {
	line := fset.Position(assign.End()).Line
	for _, cg := range comments {
		if cg.Pos() > assign.End() && fset.Position(cg.Pos()).Line == line {
			return cg
		}
	}
	return nil
}

// findAssignment finds `<pkg>.Config.<field> = ...` among the statements
// of the init functions.
func findAssignment(inits []*ast.FuncDecl, pkg, field string) *ast.AssignStmt {
	want := pkg + ".Config." + field
	for _, fn := range inits {
		for _, stmt := range fn.Body.List {
			a, ok := stmt.(*ast.AssignStmt)
			if ok && len(a.Lhs) == 1 && len(a.Rhs) == 1 && types.ExprString(a.Lhs[0]) == want {
				return a
			}
		}
	}
	return nil
}

package lakekit_test

import (
	"fmt"
	"go/types"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// publicPackages are the packages whose exported API users meet: the top
// packages and their public subpackages (everything outside internal/ and
// examples/).
var publicPackages = []string{
	"./lake/...", "./zones/...", "./catalog/...", "./transform/...", "./orchestrate/...", "./query/...",
}

// TestNoUnexportedTypesInExportedAPI fails naming every exported function,
// method, struct field, interface method, variable and constant of the
// public packages whose type mentions a type a user cannot name: an
// unexported type, or a type of an internal package that no exported alias
// re-exports. go doc shows such a signature, and a user can neither declare
// a value of the type nor implement the interface it names.
func TestNoUnexportedTypesInExportedAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the public packages")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes}
	pkgs, err := packages.Load(cfg, publicPackages...)
	if err != nil {
		t.Fatal(err)
	}
	var public []*types.Package
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
		if p.Types != nil && !internalPath(p.PkgPath) {
			public = append(public, p.Types)
		}
	}
	aliased := aliasedTypes(public...)
	var problems []string
	for _, p := range public {
		problems = append(problems, unnameableInAPI(p, aliased)...)
	}
	if len(pkgs) < 10 {
		t.Fatalf("loaded %d packages from %v; want the public packages", len(pkgs), publicPackages)
	}
	slices.Sort(problems)
	for _, pr := range problems {
		t.Error(pr)
	}
}

// TestUnnameableInAPIFinds checks the checker on a package that has each
// kind of problem, so TestNoUnexportedTypesInExportedAPI can fail.
func TestUnnameableInAPIFinds(t *testing.T) {
	pkg := types.NewPackage("example.com/p", "p")
	hidden := types.NewNamed(types.NewTypeName(0, pkg, "hidden", nil), types.Typ[types.Int], nil)
	internal := types.NewPackage("example.com/p/internal/x", "x")
	inner := types.NewNamed(types.NewTypeName(0, internal, "Inner", nil), types.Typ[types.Int], nil)
	scope := pkg.Scope()
	sig := types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewVar(0, pkg, "h", hidden)), nil, false)
	scope.Insert(types.NewFunc(0, pkg, "F", sig))
	scope.Insert(types.NewFunc(0, pkg, "ok", sig)) // unexported: not API
	st := types.NewStruct([]*types.Var{
		types.NewField(0, pkg, "Field", types.NewSlice(types.NewPointer(hidden)), false),
		types.NewField(0, pkg, "private", hidden, false),
	}, nil)
	scope.Insert(types.NewNamed(types.NewTypeName(0, pkg, "S", nil), st, nil).Obj())
	// An exported alias of an internal type is fine; its fields are checked.
	innerStruct := types.NewNamed(types.NewTypeName(0, internal, "Opts", nil), types.NewStruct([]*types.Var{
		types.NewField(0, internal, "Max", types.Typ[types.Int], false),
		types.NewField(0, internal, "Leak", hidden, false),
	}, nil), nil)
	scope.Insert(types.NewAlias(types.NewTypeName(0, pkg, "Opts", nil), innerStruct).Obj())
	scope.Insert(types.NewVar(0, pkg, "V", types.NewMap(types.Typ[types.String], inner)))
	got := unnameableInAPI(pkg, aliasedTypes(pkg))
	want := []string{
		"example.com/p.F: mentions unexported type example.com/p.hidden",
		"example.com/p.Opts.Leak: mentions unexported type example.com/p.hidden",
		"example.com/p.S.Field: mentions unexported type example.com/p.hidden",
		"example.com/p.V: mentions internal type example.com/p/internal/x.Inner",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// aliasedTypes returns the named types that an exported alias of one of
// pkgs re-exports: users name them through the alias (catalog.WaitOptions
// for internal/wait.Options, whose methods return wait.Options).
func aliasedTypes(pkgs ...*types.Package) map[*types.TypeName]bool {
	out := map[*types.TypeName]bool{}
	for _, pkg := range pkgs {
		for _, name := range pkg.Scope().Names() {
			obj, ok := pkg.Scope().Lookup(name).(*types.TypeName)
			if !ok || !obj.Exported() || !obj.IsAlias() {
				continue
			}
			if named, ok := types.Unalias(obj.Type()).(*types.Named); ok {
				out[named.Obj()] = true
			}
		}
	}
	return out
}

// unnameableInAPI lists the exported identifiers of pkg whose types mention
// a type users cannot name (aliased: the types exported aliases re-export).
func unnameableInAPI(pkg *types.Package, aliased map[*types.TypeName]bool) []string {
	var out []string
	report := func(what string, typ types.Type) {
		for _, bad := range unnameable(typ, aliased, map[types.Type]bool{}) {
			out = append(out, fmt.Sprintf("%s.%s: mentions %s", pkg.Path(), what, bad))
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch obj := obj.(type) {
		case *types.Func, *types.Var, *types.Const:
			report(name, obj.Type())
		case *types.TypeName:
			// An exported alias names its target for users (catalog.WaitOptions
			// = wait.Options): check what the target shows, not its name.
			named, ok := types.Unalias(obj.Type()).(*types.Named)
			if !ok {
				report(name, types.Unalias(obj.Type()))
				continue
			}
			if tps := named.TypeParams(); tps != nil {
				for tp := range tps.TypeParams() {
					report(name+"["+tp.Obj().Name()+"]", tp.Constraint())
				}
			}
			switch u := named.Underlying().(type) {
			case *types.Struct:
				for f := range u.Fields() {
					if f.Exported() && !f.Embedded() {
						report(name+"."+f.Name(), f.Type())
					}
				}
			case *types.Interface:
				for m := range u.ExplicitMethods() {
					if m.Exported() {
						report(name+"."+m.Name(), m.Type())
					}
				}
				for e := range u.EmbeddedTypes() {
					report(name+" (embedded)", e)
				}
			default:
				report(name, u)
			}
			for m := range named.Methods() {
				if m.Exported() {
					report(name+"."+m.Name(), m.Type())
				}
			}
		}
	}
	return out
}

// unnameable walks typ and returns a description of each named type in it
// that is unexported or belongs to an internal package, unless an exported
// alias re-exports it (users write the alias).
func unnameable(typ types.Type, aliased map[*types.TypeName]bool, seen map[types.Type]bool) []string {
	if typ == nil || seen[typ] {
		return nil
	}
	seen[typ] = true
	var out []string
	walk := func(ts ...types.Type) {
		for _, x := range ts {
			out = append(out, unnameable(x, aliased, seen)...)
		}
	}
	switch t := typ.(type) {
	case *types.Alias:
		if obj := t.Obj(); obj.Pkg() != nil && obj.Exported() && !internalPath(obj.Pkg().Path()) {
			for a := range t.TypeArgs().Types() {
				walk(a)
			}
			return out
		}
		walk(types.Unalias(t))
	case *types.Named:
		obj := t.Obj()
		if pkg := obj.Pkg(); pkg != nil && !aliased[obj] {
			switch {
			case !obj.Exported():
				out = append(out, "unexported type "+pkg.Path()+"."+obj.Name())
			case internalPath(pkg.Path()):
				out = append(out, "internal type "+pkg.Path()+"."+obj.Name())
			}
		}
		for a := range t.TypeArgs().Types() {
			walk(a)
		}
	case *types.Pointer:
		walk(t.Elem())
	case *types.Slice:
		walk(t.Elem())
	case *types.Array:
		walk(t.Elem())
	case *types.Chan:
		walk(t.Elem())
	case *types.Map:
		walk(t.Key(), t.Elem())
	case *types.Tuple:
		for v := range t.Variables() {
			walk(v.Type())
		}
	case *types.Signature:
		walk(t.Params(), t.Results())
	case *types.Struct:
		for f := range t.Fields() {
			if f.Exported() || f.Embedded() {
				walk(f.Type())
			}
		}
	case *types.Interface:
		for m := range t.ExplicitMethods() {
			walk(m.Type())
		}
		for e := range t.EmbeddedTypes() {
			walk(e)
		}
	case *types.Union:
		for term := range t.Terms() {
			walk(term.Type())
		}
	}
	return out
}

func internalPath(path string) bool {
	return strings.HasSuffix(path, "/internal") || strings.Contains(path, "/internal/") || strings.HasPrefix(path, "internal/")
}

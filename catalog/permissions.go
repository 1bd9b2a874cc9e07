package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	lftypes "github.com/aws/aws-sdk-go-v2/service/lakeformation/types"
)

// Permissions is implemented by catalogs that govern access (Glue with
// Lake Formation). Grants are SELECT on a whole table or on some of its
// columns.
type Permissions interface {
	// GrantSelect lets principal (an IAM role or user ARN, or a Lake
	// Formation principal) SELECT from the table; with columns, only from
	// those columns.
	GrantSelect(ctx context.Context, principal, database, table string, columns []string) error
	// RevokeSelect takes a grant made by GrantSelect back; the columns must
	// be the ones granted.
	RevokeSelect(ctx context.Context, principal, database, table string, columns []string) error
	// ListPermissions lists the grants on a table (table- and column-level).
	ListPermissions(ctx context.Context, database, table string) ([]Grant, error)
}

// Grant is one principal's permissions on a table.
type Grant struct {
	Principal string
	Database  string
	Table     string
	// Columns limits the grant to these columns; nil means the whole table.
	Columns     []string
	Permissions []string // "SELECT", ...
}

// LakeFormationAPI is the part of the AWS Lake Formation client the Glue
// catalog's Permissions methods call: a *lakeformation.Client has these
// methods. Set GlueOptions.LakeFormation to any value that has them (an
// instrumented client, a stub in a test).
type LakeFormationAPI interface {
	GrantPermissions(context.Context, *lakeformation.GrantPermissionsInput, ...func(*lakeformation.Options)) (*lakeformation.GrantPermissionsOutput, error)
	RevokePermissions(context.Context, *lakeformation.RevokePermissionsInput, ...func(*lakeformation.Options)) (*lakeformation.RevokePermissionsOutput, error)
	ListPermissions(context.Context, *lakeformation.ListPermissionsInput, ...func(*lakeformation.Options)) (*lakeformation.ListPermissionsOutput, error)
}

// ErrNoLakeFormation: a permissions call on a Glue catalog made without a
// Lake Formation client.
var ErrNoLakeFormation = errors.New("catalog: no Lake Formation client configured (GlueOptions.LakeFormation)")

func (g *Glue) lfResource(database, table string, columns []string) (*lftypes.Resource, error) {
	if err := nameErr("database name", database); err != nil {
		return nil, err
	}
	if err := nameErr("table name", table); err != nil {
		return nil, err
	}
	if len(columns) == 0 {
		return &lftypes.Resource{Table: &lftypes.TableResource{CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(table)}}, nil
	}
	for _, c := range columns {
		if err := nameErr("column name", c); err != nil {
			return nil, err
		}
	}
	return &lftypes.Resource{TableWithColumns: &lftypes.TableWithColumnsResource{
		CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(table), ColumnNames: slices.Clone(columns),
	}}, nil
}

func (g *Glue) checkGrant(ctx context.Context, principal, database, table string, columns []string) (*lftypes.Resource, error) {
	if g.lf == nil {
		return nil, ErrNoLakeFormation
	}
	if strings.TrimSpace(principal) == "" {
		return nil, invalidf("empty principal")
	}
	res, err := g.lfResource(database, table, columns)
	if err != nil {
		return nil, err
	}
	t, err := g.GetTable(ctx, database, table)
	if err != nil {
		return nil, err
	}
	for _, c := range columns {
		if !slices.ContainsFunc(append(slices.Clone(t.Schema.Columns), t.Schema.PartitionKeys...), func(x Column) bool { return x.Name == c }) {
			return nil, invalidf("table %s.%s has no column %q", database, table, c)
		}
	}
	return res, nil
}

// GrantSelect implements Permissions with Lake Formation GrantPermissions.
func (g *Glue) GrantSelect(ctx context.Context, principal, database, table string, columns []string) error {
	res, err := g.checkGrant(ctx, principal, database, table, columns)
	if err != nil {
		return err
	}
	_, err = g.lf.GrantPermissions(ctx, &lakeformation.GrantPermissionsInput{
		CatalogId:   g.catalogID(),
		Principal:   &lftypes.DataLakePrincipal{DataLakePrincipalIdentifier: aws.String(principal)},
		Resource:    res,
		Permissions: []lftypes.Permission{lftypes.PermissionSelect},
	})
	return lfErr(err, "grant select on "+database+"."+table)
}

// RevokeSelect implements Permissions with Lake Formation RevokePermissions.
func (g *Glue) RevokeSelect(ctx context.Context, principal, database, table string, columns []string) error {
	res, err := g.checkGrant(ctx, principal, database, table, columns)
	if err != nil {
		return err
	}
	_, err = g.lf.RevokePermissions(ctx, &lakeformation.RevokePermissionsInput{
		CatalogId:   g.catalogID(),
		Principal:   &lftypes.DataLakePrincipal{DataLakePrincipalIdentifier: aws.String(principal)},
		Resource:    res,
		Permissions: []lftypes.Permission{lftypes.PermissionSelect},
	})
	return lfErr(err, "revoke select on "+database+"."+table)
}

// ListPermissions implements Permissions with Lake Formation
// ListPermissions, keeping the grants on this table (whole or columns).
func (g *Glue) ListPermissions(ctx context.Context, database, table string) ([]Grant, error) {
	if g.lf == nil {
		return nil, ErrNoLakeFormation
	}
	if _, err := g.GetTable(ctx, database, table); err != nil {
		return nil, err
	}
	var out []Grant
	seen := map[string]bool{}
	// Lake Formation answers a Table resource with the table's grants and
	// its column grants. Some implementations (moto) leave the column
	// grants out: when none came back, list the catalog's table grants and
	// keep this table's.
	inputs := []*lakeformation.ListPermissionsInput{
		{CatalogId: g.catalogID(), Resource: &lftypes.Resource{Table: &lftypes.TableResource{
			CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(table)}}},
		{CatalogId: g.catalogID(), ResourceType: lftypes.DataLakeResourceTypeTable},
	}
	for i, in := range inputs {
		if i > 0 && slices.ContainsFunc(out, func(gr Grant) bool { return gr.Columns != nil }) {
			break
		}
		p := lakeformation.NewListPermissionsPaginator(g.lf, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, lfErr(err, "list permissions on "+database+"."+table)
			}
			for _, prp := range page.PrincipalResourcePermissions {
				gr, ok := grantOf(prp, database, table)
				if !ok {
					continue
				}
				k := fmt.Sprint(gr)
				if !seen[k] {
					seen[k] = true
					out = append(out, gr)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b Grant) int {
		if c := strings.Compare(a.Principal, b.Principal); c != 0 {
			return c
		}
		return strings.Compare(strings.Join(a.Columns, ","), strings.Join(b.Columns, ","))
	})
	return out, nil
}

func grantOf(p lftypes.PrincipalResourcePermissions, database, table string) (Grant, bool) {
	if p.Principal == nil || p.Resource == nil {
		return Grant{}, false
	}
	g := Grant{Principal: aws.ToString(p.Principal.DataLakePrincipalIdentifier), Database: database, Table: table}
	switch r := p.Resource; {
	case r.Table != nil:
		if aws.ToString(r.Table.DatabaseName) != database || aws.ToString(r.Table.Name) != table {
			return Grant{}, false
		}
	case r.TableWithColumns != nil:
		if aws.ToString(r.TableWithColumns.DatabaseName) != database || aws.ToString(r.TableWithColumns.Name) != table {
			return Grant{}, false
		}
		g.Columns = slices.Clone(r.TableWithColumns.ColumnNames)
		slices.Sort(g.Columns)
	default:
		return Grant{}, false
	}
	for _, perm := range p.Permissions {
		g.Permissions = append(g.Permissions, string(perm))
	}
	slices.Sort(g.Permissions)
	return g, len(g.Permissions) > 0
}

func lfErr(err error, what string) error {
	if err == nil {
		return nil
	}
	switch apiCode(err) {
	case "EntityNotFoundException":
		return fmt.Errorf("catalog: lakeformation %s: %w: %w", what, ErrNoSuchTable, err)
	case "InvalidInputException":
		return fmt.Errorf("catalog: lakeformation %s: %w: %w", what, ErrInvalid, err)
	case "ConcurrentModificationException":
		return fmt.Errorf("catalog: lakeformation %s: %w: %w", what, ErrConflict, err)
	}
	return fmt.Errorf("catalog: lakeformation %s: %w", what, err)
}

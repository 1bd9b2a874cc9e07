package catalog

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

// CreateDatabase implements Catalog.
func (g *Glue) CreateDatabase(ctx context.Context, db Database) error {
	if err := ValidateDatabase(db); err != nil {
		return err
	}
	in := &types.DatabaseInput{Name: aws.String(db.Name), Parameters: db.Parameters}
	if db.Description != "" {
		in.Description = aws.String(db.Description)
	}
	if db.LocationURI != "" {
		in.LocationUri = aws.String(db.LocationURI)
	}
	_, err := g.c.CreateDatabase(ctx, &glue.CreateDatabaseInput{CatalogId: g.catalogID(), DatabaseInput: in})
	return glueErr(err, "create database "+db.Name, ErrNoSuchDatabase)
}

// GetDatabase implements Catalog.
func (g *Glue) GetDatabase(ctx context.Context, name string) (*Database, error) {
	if err := nameErr("database name", name); err != nil {
		return nil, err
	}
	out, err := g.c.GetDatabase(ctx, &glue.GetDatabaseInput{CatalogId: g.catalogID(), Name: aws.String(name)})
	if err != nil {
		return nil, glueErr(err, "get database "+name, ErrNoSuchDatabase)
	}
	return fromGlueDatabase(out.Database), nil
}

// ListDatabases implements Catalog; databases come sorted by name.
func (g *Glue) ListDatabases(ctx context.Context) iter.Seq2[*Database, error] {
	return func(yield func(*Database, error) bool) {
		var dbs []*Database
		p := glue.NewGetDatabasesPaginator(g.c, &glue.GetDatabasesInput{CatalogId: g.catalogID()})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(nil, glueErr(err, "get databases", nil))
				return
			}
			for i := range page.DatabaseList {
				dbs = append(dbs, fromGlueDatabase(&page.DatabaseList[i]))
			}
		}
		slices.SortFunc(dbs, func(a, b *Database) int { return strings.Compare(a.Name, b.Name) })
		for _, d := range dbs {
			if !yield(d, nil) {
				return
			}
		}
	}
}

// DeleteDatabase implements Catalog. Glue would delete the tables too;
// lakekit refuses a database that has tables with ErrInvalid.
func (g *Glue) DeleteDatabase(ctx context.Context, name string) error {
	if _, err := g.GetDatabase(ctx, name); err != nil {
		return err
	}
	out, err := g.c.GetTables(ctx, &glue.GetTablesInput{CatalogId: g.catalogID(), DatabaseName: aws.String(name), MaxResults: aws.Int32(1)})
	if err != nil {
		return glueErr(err, "get tables of "+name, ErrNoSuchDatabase)
	}
	if len(out.TableList) > 0 {
		return invalidf("database %q still has tables (%s, ...); delete them first", name, aws.ToString(out.TableList[0].Name))
	}
	_, err = g.c.DeleteDatabase(ctx, &glue.DeleteDatabaseInput{CatalogId: g.catalogID(), Name: aws.String(name)})
	return glueErr(err, "delete database "+name, ErrNoSuchDatabase)
}

func (g *Glue) getGlueTable(ctx context.Context, database, name string) (*types.Table, error) {
	if err := nameErr("database name", database); err != nil {
		return nil, err
	}
	if err := nameErr("table name", name); err != nil {
		return nil, err
	}
	out, err := g.c.GetTable(ctx, &glue.GetTableInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(name)})
	if err != nil {
		return nil, glueErr(err, "get table "+database+"."+name, ErrNoSuchTable)
	}
	return out.Table, nil
}

// CreateTable implements Catalog.
func (g *Glue) CreateTable(ctx context.Context, t *Table) error {
	if err := ValidateTable(t); err != nil {
		return err
	}
	nt := createdTable(t, time.Now().UTC())
	_, err := g.c.CreateTable(ctx, &glue.CreateTableInput{
		CatalogId:    g.catalogID(),
		DatabaseName: aws.String(t.Database),
		TableInput:   toTableInput(nt),
	})
	if err != nil {
		return glueErr(err, "create table "+t.Database+"."+t.Name, ErrNoSuchDatabase)
	}
	got, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	*t = *got
	return nil
}

// GetTable implements Catalog.
func (g *Glue) GetTable(ctx context.Context, database, name string) (*Table, error) {
	gt, err := g.getGlueTable(ctx, database, name)
	if err != nil {
		g.tableCache.Delete(database + "." + name)
		return nil, err
	}
	t := fromGlueTable(gt)
	g.tableCache.Store(database+"."+name, cachedTable{t: t, at: time.Now()})
	return t, nil
}

// UpdateTable implements Catalog. The VersionID check happens twice: here
// against the table just read, and in Glue (UpdateTable's VersionId), which
// answers ConcurrentModificationException (ErrConflict) when another
// writer got in between. SkipArchive is false, so Glue keeps the previous
// version for GetTableVersions.
func (g *Glue) UpdateTable(ctx context.Context, t *Table, opts *UpdateOptions) error {
	if t != nil {
		defer g.tableCache.Delete(t.Database + "." + t.Name)
	}
	if err := ValidateTable(t); err != nil {
		return err
	}
	cur, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	if cur.VersionID != t.VersionID {
		return fmt.Errorf("catalog: table %s.%s: version %q was read, the table is now at %q: %w",
			t.Database, t.Name, t.VersionID, cur.VersionID, ErrConflict)
	}
	nt, err := updatedTable(cur, t, opts != nil && opts.Force, time.Now().UTC())
	if err != nil {
		return err
	}
	in := &glue.UpdateTableInput{
		CatalogId:    g.catalogID(),
		DatabaseName: aws.String(t.Database),
		TableInput:   toTableInput(nt),
		SkipArchive:  aws.Bool(false),
	}
	if cur.VersionID != "" {
		in.VersionId = aws.String(cur.VersionID)
	}
	if _, err := g.c.UpdateTable(ctx, in); err != nil {
		return glueErr(err, "update table "+t.Database+"."+t.Name, ErrNoSuchTable)
	}
	got, err := g.GetTable(ctx, t.Database, t.Name)
	if err != nil {
		return err
	}
	*t = *got
	return nil
}

// ListTables implements Catalog; tables come sorted by name.
func (g *Glue) ListTables(ctx context.Context, database string) iter.Seq2[*Table, error] {
	return func(yield func(*Table, error) bool) {
		if err := nameErr("database name", database); err != nil {
			yield(nil, err)
			return
		}
		ts, err := g.tables(ctx, database)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

func (g *Glue) tables(ctx context.Context, database string) ([]*Table, error) {
	var ts []*Table
	p := glue.NewGetTablesPaginator(g.c, &glue.GetTablesInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, glueErr(err, "get tables of "+database, ErrNoSuchDatabase)
		}
		for i := range page.TableList {
			ts = append(ts, fromGlueTable(&page.TableList[i]))
		}
	}
	slices.SortFunc(ts, func(a, b *Table) int { return strings.Compare(a.Name, b.Name) })
	return ts, nil
}

// DeleteTable implements Catalog.
func (g *Glue) DeleteTable(ctx context.Context, database, name string) error {
	defer g.tableCache.Delete(database + "." + name)
	if _, err := g.getGlueTable(ctx, database, name); err != nil {
		return err
	}
	_, err := g.c.DeleteTable(ctx, &glue.DeleteTableInput{CatalogId: g.catalogID(), DatabaseName: aws.String(database), Name: aws.String(name)})
	return glueErr(err, "delete table "+database+"."+name, ErrNoSuchTable)
}

// SchemaVersions implements Catalog from GetTableVersions: each Glue
// table version carries lakekit's schema version in its parameters.
func (g *Glue) SchemaVersions(ctx context.Context, database, table string) ([]Schema, error) {
	if _, err := g.getGlueTable(ctx, database, table); err != nil {
		return nil, err
	}
	byVersion := map[int]Schema{}
	p := glue.NewGetTableVersionsPaginator(g.c, &glue.GetTableVersionsInput{
		CatalogId: g.catalogID(), DatabaseName: aws.String(database), TableName: aws.String(table),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, glueErr(err, "get table versions of "+database+"."+table, ErrNoSuchTable)
		}
		for _, v := range page.TableVersions {
			if v.Table == nil {
				continue
			}
			s := fromGlueTable(v.Table).Schema
			if _, ok := byVersion[s.Version]; !ok {
				byVersion[s.Version] = s
			}
		}
	}
	out := make([]Schema, 0, len(byVersion))
	for _, s := range byVersion {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Schema) int { return a.Version - b.Version })
	return out, nil
}

// SchemaVersion implements Catalog.
func (g *Glue) SchemaVersion(ctx context.Context, database, table string, version int) (*Schema, error) {
	ss, err := g.SchemaVersions(ctx, database, table)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.Version == version {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("catalog: table %s.%s has no schema version %d: %w", database, table, version, ErrNoSuchVersion)
}

package transform_test

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// Signup is a cleaned sign-up event.
type Signup struct {
	ID    int64  `parquet:"id"`
	Email string `parquet:"email"`
	Plan  string `parquet:"plan"`
}

// Member is the first shape of a curated table.
type Member struct {
	ID    int64  `parquet:"id"`
	Email string `parquet:"email"`
}

// MemberV2 adds a column. It is a pointer with the optional tag, so the
// column is nullable: rows written before it existed read back as nil, and
// Athena reads the old files too (adding a nullable column is the change
// Athena's Parquet rules allow; see catalog.CheckEvolution).
type MemberV2 struct {
	ID    int64   `parquet:"id"`
	Email string  `parquet:"email"`
	Plan  *string `parquet:"plan,optional"`
}

// MemberV3 adds a required column: refused, because the rows already in
// the table have no value for it.
type MemberV3 struct {
	ID     int64  `parquet:"id"`
	Email  string `parquet:"email"`
	Region string `parquet:"region"`
}

// Schema evolution from a second struct: a transform writes a curated
// table with Member; the next release writes the same table with
// MemberV2, which adds a nullable column. The catalog records schema
// version 2, old rows read back with Plan nil, and a struct that adds a
// required column is refused at commit with catalog.ErrIncompatibleSchema.
func Example_schemaEvolution() {
	ctx := context.Background()
	lk, _ := lake.Open(ctx, "mem://", nil)
	defer lk.Close()
	cat, _ := catalog.OpenLocal(lk)
	signups, _ := zones.NewDataset[Signup](lk, lake.Cleaned, "crm", "signups", &zones.Options[Signup]{Catalog: cat})
	land := func(rows ...Signup) {
		w, _ := signups.NewWriter(ctx, nil)
		w.Write(ctx, rows)
		if _, err := w.Commit(ctx); err != nil {
			panic(err)
		}
	}

	// Release 1: the curated table has id and email.
	land(Signup{1, "ann@example.com", "free"})
	v1, _ := zones.NewDataset[Member](lk, lake.Curated, "crm", "customers", &zones.Options[Member]{Catalog: cat})
	t1, _ := transform.New("customers", transform.FromDataset(signups),
		transform.Map(func(_ context.Context, s Signup) (Member, error) { return Member{s.ID, s.Email}, nil }), v1, nil)
	if _, err := t1.Run(ctx); err != nil {
		panic(err)
	}

	// Release 2: the same table, written with the second struct. The
	// transform keeps its name, so it carries on where release 1 stopped.
	land(Signup{2, "bob@example.com", "pro"})
	v2, _ := zones.NewDataset[MemberV2](lk, lake.Curated, "crm", "customers", &zones.Options[MemberV2]{Catalog: cat})
	t2, _ := transform.New("customers", transform.FromDataset(signups),
		transform.Map(func(_ context.Context, s Signup) (MemberV2, error) {
			return MemberV2{ID: s.ID, Email: s.Email, Plan: &s.Plan}, nil
		}), v2, nil)
	res, err := t2.Run(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("release 2 wrote", res.RowsOut, "row")

	versions, _ := cat.SchemaVersions(ctx, "crm", "customers")
	for _, s := range versions {
		var cols []string
		for _, c := range s.Columns {
			cols = append(cols, c.Name)
		}
		fmt.Println("schema version", s.Version, cols)
	}
	rows, _ := v2.ReadAll(ctx, nil)
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, r := range rows {
		plan := "<nil>"
		if r.Plan != nil {
			plan = *r.Plan
		}
		fmt.Println(r.ID, r.Email, plan)
	}

	// A required column cannot be added to a table that has rows.
	land(Signup{3, "cy@example.com", "free"})
	v3, _ := zones.NewDataset[MemberV3](lk, lake.Curated, "crm", "customers", &zones.Options[MemberV3]{Catalog: cat})
	t3, _ := transform.New("customers", transform.FromDataset(signups),
		transform.Map(func(_ context.Context, s Signup) (MemberV3, error) { return MemberV3{s.ID, s.Email, "eu"}, nil }), v3, nil)
	_, err = t3.Run(ctx)
	fmt.Println("adding a required column refused:", errors.Is(err, catalog.ErrIncompatibleSchema))
	// Output:
	// release 2 wrote 1 row
	// schema version 1 [id email]
	// schema version 2 [id email plan]
	// 1 ann@example.com <nil>
	// 2 bob@example.com pro
	// adding a required column refused: true
}

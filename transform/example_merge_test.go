package transform_test

import (
	"context"
	"fmt"
	"sort"

	"github.com/lakekit/lakekit/lake"
	"github.com/lakekit/lakekit/transform"
	"github.com/lakekit/lakekit/zones"
)

// AccountChange is a change row as AWS DMS writes it: an operation, the
// primary key, a commit sequence, and the row image.
type AccountChange struct {
	Op      string `parquet:"op"`
	ID      int64  `parquet:"id"`
	LSN     int64  `parquet:"lsn"`
	Owner   string `parquet:"owner"`
	Balance int64  `parquet:"balance"`
	Branch  string `parquet:"branch"`
}

// Account is the current state, partitioned by branch.
type Account struct {
	ID      int64  `parquet:"id"`
	LSN     int64  `parquet:"lsn"`
	Owner   string `parquet:"owner"`
	Balance int64  `parquet:"balance"`
	Branch  string `parquet:"branch" lakekit:"partition"`
}

// Merge CDC batches into the current state: a late update older than the
// stored row is ignored, and a delete removes the row.
func ExampleMerge() {
	ctx := context.Background()
	lk, _ := lake.Open(ctx, "mem://", nil)
	defer lk.Close()
	changes, _ := zones.NewDataset[AccountChange](lk, lake.Cleaned, "bank", "account_changes", nil)
	accounts, _ := zones.NewDataset[Account](lk, lake.Curated, "bank", "accounts", nil)
	merge, err := transform.Merge("accounts_cdc", transform.FromDataset(changes), accounts,
		transform.MergeSpec[AccountChange, Account, int64, int64]{
			Op:    func(c AccountChange) transform.Op { return transform.Op(c.Op) },
			Key:   func(c AccountChange) int64 { return c.ID },
			Order: func(c AccountChange) int64 { return c.LSN },
			Image: func(c AccountChange) Account {
				return Account{ID: c.ID, LSN: c.LSN, Owner: c.Owner, Balance: c.Balance, Branch: c.Branch}
			},
			RowKey:   func(a Account) int64 { return a.ID },
			RowOrder: func(a Account) int64 { return a.LSN },
		}, nil)
	if err != nil {
		panic(err)
	}
	batches := [][]AccountChange{
		{{"I", 1, 10, "ann", 100, "north"}, {"I", 2, 11, "bob", 50, "south"}, {"I", 3, 12, "cy", 70, "south"}},
		{{"U", 1, 20, "ann", 130, "north"}, {"D", 3, 21, "", 0, "south"}},
		{{"U", 1, 15, "ann", 999, "north"}}, // late and older than LSN 20: ignored
	}
	for _, b := range batches {
		w, _ := changes.NewWriter(ctx, nil)
		w.Write(ctx, b)
		w.Commit(ctx)
		res, err := merge.Run(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Printf("inserted %d, updated %d, deleted %d, stale %d\n", res.Merge.Inserted, res.Merge.Updated, res.Merge.Deleted, res.Merge.Stale)
	}
	rows, _ := accounts.ReadAll(ctx, nil)
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, a := range rows {
		fmt.Printf("%d %s %d (%s)\n", a.ID, a.Owner, a.Balance, a.Branch)
	}
	// Output:
	// inserted 3, updated 0, deleted 0, stale 0
	// inserted 0, updated 1, deleted 1, stale 0
	// inserted 0, updated 0, deleted 0, stale 1
	// 1 ann 130 (north)
	// 2 bob 50 (south)
}

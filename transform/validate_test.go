package transform

import (
	"errors"
	"fmt"
	"testing"
)

type vrow struct {
	ID      int64   `json:"id"`
	Email   string  `json:"email"`
	Country string  `json:"country"`
	Amount  float64 `json:"amount"`
	Qty     *int    `json:"qty"`
}

func TestValidator(t *testing.T) {
	v, err := NewValidator[vrow](
		Required("email"),
		Regexp("email", `^[^@\s]+@[^@\s]+$`),
		Enum("country", "DE", "FR"),
		Range("amount", 0, 1000),
		Range("Qty", 1, 10),
		Custom("id", func(x any) error {
			if x.(int64) == 13 {
				return fmt.Errorf("unlucky")
			}
			return nil
		}),
		RowCheck("big_de", func(r vrow) error {
			if r.Country == "DE" && r.Amount > 500 {
				return fmt.Errorf("DE orders are capped at 500")
			}
			return nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	three, eleven := 3, 11
	cases := []struct {
		row         vrow
		rule, field string
	}{
		{vrow{ID: 1, Email: "a@b.c", Country: "DE", Amount: 5, Qty: &three}, "", ""},
		{vrow{ID: 1, Email: "a@b.c", Country: "FR", Amount: 0}, "", ""},
		{vrow{ID: 1, Email: " ", Country: "DE"}, "required", "email"},
		{vrow{ID: 1, Email: "nope", Country: "DE"}, "regexp", "email"},
		{vrow{ID: 1, Email: "a@b.c", Country: "US"}, "enum", "country"},
		{vrow{ID: 1, Email: "a@b.c", Country: "DE", Amount: -1}, "range", "amount"},
		{vrow{ID: 1, Email: "a@b.c", Country: "DE", Qty: &eleven}, "range", "Qty"},
		{vrow{ID: 13, Email: "a@b.c", Country: "DE"}, "custom", "id"},
		{vrow{ID: 1, Email: "a@b.c", Country: "DE", Amount: 600}, "big_de", ""},
	}
	for i, c := range cases {
		got := v.Check(c.row)
		if c.rule == "" {
			if got != nil {
				t.Errorf("case %d: unexpected %v", i, got)
			}
			continue
		}
		if got == nil || got.Rule != c.rule || got.Field != c.field || got.Reason == "" {
			t.Errorf("case %d: got %+v, want rule %s on %q", i, got, c.rule, c.field)
			continue
		}
		if !errors.Is(got, ErrRejected) {
			t.Errorf("case %d: violation does not match ErrRejected", i)
		}
	}
}

func TestValidatorRefusesBadRules(t *testing.T) {
	for name, r := range map[string]Rule{
		"unknown field":   Required("nope"),
		"range on string": Range("email", 0, 1),
		"bad range":       Range("amount", 2, 1),
		"regexp on int":   Regexp("id", "x"),
		"bad pattern":     Regexp("email", "("),
		"empty enum":      Enum("country"),
		"row of other T":  RowCheck("x", func(order) error { return nil }),
		"zero rule":       {},
	} {
		if _, err := NewValidator[vrow](r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

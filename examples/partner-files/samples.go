package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"time"
)

// writeSamples fills a drop folder with what a partner typically sends:
// three daily files (one with a correct checksum sidecar), a re-sent copy of
// one of them under another name, and a file damaged in transfer whose
// sidecar no longer matches. About 2% of the rows are bad.
func writeSamples(dir string) error {
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	files := map[string][]byte{}
	for i := 0; i < 3; i++ {
		d := day.AddDate(0, 0, i)
		files[fmt.Sprintf("orders-%s.csv", d.Format("20060102"))] = sampleCSV(d, 150+50*i, int64(i+1))
	}
	files["orders-20240502-resend.csv"] = files["orders-20240502.csv"]
	damaged := sampleCSV(day.AddDate(0, 0, 3), 100, 9)
	files["orders-20240504.csv"] = damaged
	// arrival order: the days in turn, the re-sent copy last
	arrival := time.Now().Add(-time.Hour)
	for i, name := range []string{"orders-20240501.csv", "orders-20240502.csv", "orders-20240503.csv", "orders-20240504.csv", "orders-20240502-resend.csv"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
		at := arrival.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, at, at); err != nil {
			return err
		}
	}
	for name, content := range map[string][]byte{
		"orders-20240501.csv": files["orders-20240501.csv"],
		"orders-20240504.csv": append([]byte("order_id"), damaged[8:len(damaged)-40]...), // what the partner hashed
	} {
		sum := sha256.Sum256(content)
		line := hex.EncodeToString(sum[:]) + "  " + name + "\n"
		if err := os.WriteFile(filepath.Join(dir, name+".sha256"), []byte(line), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sampleCSV makes n order rows for one day.
func sampleCSV(day time.Time, n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	b.WriteString("order_id,order_date,customer,sku,quantity,unit_price,currency\n")
	currencies := []string{"EUR", "EUR", "USD", "GBP"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%04d", day.Format("20060102"), i)
		at := day.Add(time.Duration(rng.Int63n(int64(24 * time.Hour)))).Truncate(time.Second).Format(time.RFC3339)
		cust := fmt.Sprintf("C%05d", rng.Intn(3000))
		sku := fmt.Sprintf("%c%c%c-%04d", 'A'+rng.Intn(26), 'A'+rng.Intn(26), 'A'+rng.Intn(26), rng.Intn(10000))
		qty := fmt.Sprint(1 + rng.Intn(20))
		price := fmt.Sprintf("%.2f", 1+rng.Float64()*200)
		cur := currencies[rng.Intn(len(currencies))]
		switch rng.Intn(50) { // about 2% bad rows
		case 0:
			qty = "-3"
		case 1:
			cur = "XYZ"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s\n", id, at, cust, sku, qty, price, cur)
	}
	return b.Bytes()
}

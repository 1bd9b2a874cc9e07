package lake

import (
	"fmt"
	"time"
)

// ZoneName names a storage zone. The three of the whitepaper are predefined;
// any valid name (ValidateName) can be used for more.
type ZoneName string

// The zones of the serverless data lake.
const (
	// Raw holds data as it arrived, unchanged (JSON lines, CSV, any file).
	Raw ZoneName = "raw"
	// Cleaned holds validated, typed data, kept for replay.
	Cleaned ZoneName = "cleaned"
	// Curated holds partitioned, cataloged Parquet for Athena, Redshift and BI.
	Curated ZoneName = "curated"
)

// Zones lists the predefined zones in data-flow order.
var Zones = []ZoneName{Raw, Cleaned, Curated}

// Compression names a Parquet codec.
type Compression string

// Codecs a zone can default to.
const (
	Zstd         Compression = "zstd"
	Snappy       Compression = "snappy"
	Uncompressed Compression = "none"
)

// ZoneConfig holds per-zone settings. The zero value means: no encryption
// key, encryption not required, zstd, 7 days retention of replaced files.
type ZoneConfig struct {
	// KMSKeyID encrypts every object written to the zone with SSE-KMS.
	KMSKeyID string
	// RequireEncryption refuses any write without a KMS key, before sending it.
	RequireEncryption bool
	// Compression is the default Parquet codec of the zone's tables.
	Compression Compression
	// Retention is how long files replaced by an overwrite are kept before a
	// vacuum may delete them (queries running on Athena may still read them).
	Retention time.Duration
}

// DefaultRetention is the retention of replaced files when a zone sets none.
const DefaultRetention = 7 * 24 * time.Hour

func (c ZoneConfig) withDefaults() ZoneConfig {
	if c.Compression == "" {
		c.Compression = Zstd
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	return c
}

func (c ZoneConfig) validate(z ZoneName) error {
	switch c.Compression {
	case Zstd, Snappy, Uncompressed:
	default:
		return fmt.Errorf("lake: zone %s: unknown compression %q (want zstd, snappy or none)", z, c.Compression)
	}
	if c.RequireEncryption && c.KMSKeyID == "" {
		return fmt.Errorf("lake: zone %s requires encryption but has no KMS key: %w", z, ErrEncryptionRequired)
	}
	if c.Retention < 0 {
		return fmt.Errorf("lake: zone %s: negative retention %v", z, c.Retention)
	}
	return nil
}

// Zone is one zone of a lake: a store scoped to <root>/<zone>/ that applies
// the zone's encryption to every write, and the zone's settings.
type Zone struct {
	name   ZoneName
	config ZoneConfig
	store  *Store
	lake   *Lake
}

// Name returns the zone's name.
func (z *Zone) Name() ZoneName { return z.name }

// Config returns the zone's settings, defaults filled in.
func (z *Zone) Config() ZoneConfig { return z.config }

// Store returns the zone's store: keys are relative to the zone's root.
func (z *Zone) Store() *Store { return z.store }

// Lake returns the lake the zone belongs to.
func (z *Zone) Lake() *Lake { return z.lake }

// TablePrefix returns "<database>/<table>", the key prefix of a table within
// its zone, after checking both names.
func TablePrefix(database, table string) (string, error) {
	if err := ValidateName(KindDatabase, database); err != nil {
		return "", err
	}
	if err := ValidateName(KindTable, table); err != nil {
		return "", err
	}
	return database + "/" + table, nil
}

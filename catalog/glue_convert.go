package catalog

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
)

func toGlueColumns(cs []Column) []types.Column {
	out := make([]types.Column, len(cs))
	for i, c := range cs {
		params := maps.Clone(c.Parameters)
		if c.Required || c.Classification != "" {
			if params == nil {
				params = map[string]string{}
			}
			if c.Required {
				params[ParamRequired] = "true"
			}
			if c.Classification != "" {
				params[ParamClassification] = c.Classification
			}
		}
		out[i] = types.Column{Name: aws.String(c.Name), Type: aws.String(c.Type), Parameters: params}
		if c.Comment != "" {
			out[i].Comment = aws.String(c.Comment)
		}
	}
	return out
}

func fromGlueColumns(cs []types.Column) []Column {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Column, len(cs))
	for i, c := range cs {
		col := Column{Name: aws.ToString(c.Name), Type: aws.ToString(c.Type), Comment: aws.ToString(c.Comment)}
		if canon, err := CanonicalType(col.Type); err == nil {
			col.Type = canon
		}
		for k, v := range c.Parameters {
			switch k {
			case ParamRequired:
				col.Required = v == "true"
			case ParamClassification:
				col.Classification = v
			default:
				if !strings.HasPrefix(k, reservedPrefix) {
					if col.Parameters == nil {
						col.Parameters = map[string]string{}
					}
					col.Parameters[k] = v
				}
			}
		}
		out[i] = col
	}
	return out
}

func storageDescriptor(t *Table, location string) *types.StorageDescriptor {
	return &types.StorageDescriptor{
		Columns:      toGlueColumns(t.Schema.Columns),
		Location:     aws.String(location),
		InputFormat:  aws.String(ParquetInputFormat),
		OutputFormat: aws.String(ParquetOutputFormat),
		SerdeInfo: &types.SerDeInfo{
			SerializationLibrary: aws.String(ParquetSerDe),
			Parameters:           map[string]string{"serialization.format": "1"},
		},
	}
}

func toTableInput(t *Table) *types.TableInput {
	params := maps.Clone(t.Parameters)
	if params == nil {
		params = map[string]string{}
	}
	params["classification"] = FormatParquet
	params["EXTERNAL"] = "TRUE"
	params[ParamSchemaVersion] = strconv.Itoa(t.Schema.Version)
	if !t.Schema.CreatedAt.IsZero() {
		params[ParamSchemaCreatedAt] = t.Schema.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if !t.CreatedAt.IsZero() {
		params[ParamCreatedAt] = t.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	if t.Steward != "" {
		params[ParamSteward] = t.Steward
	}
	in := &types.TableInput{
		Name:              aws.String(t.Name),
		TableType:         aws.String("EXTERNAL_TABLE"),
		Parameters:        params,
		PartitionKeys:     toGlueColumns(t.Schema.PartitionKeys),
		StorageDescriptor: storageDescriptor(t, t.Location),
	}
	if in.PartitionKeys == nil {
		in.PartitionKeys = []types.Column{}
	}
	if t.Description != "" {
		in.Description = aws.String(t.Description)
	}
	if t.Owner != "" {
		in.Owner = aws.String(t.Owner)
	}
	return in
}

func fromGlueTable(gt *types.Table) *Table {
	t := &Table{
		Database:    aws.ToString(gt.DatabaseName),
		Name:        aws.ToString(gt.Name),
		Format:      FormatParquet,
		Description: aws.ToString(gt.Description),
		Owner:       aws.ToString(gt.Owner),
		VersionID:   aws.ToString(gt.VersionId),
		Schema:      Schema{Version: 1, PartitionKeys: fromGlueColumns(gt.PartitionKeys)},
	}
	if gt.CreateTime != nil {
		t.CreatedAt = gt.CreateTime.UTC()
	}
	if gt.UpdateTime != nil {
		t.UpdatedAt = gt.UpdateTime.UTC()
	}
	if sd := gt.StorageDescriptor; sd != nil {
		t.Location = aws.ToString(sd.Location)
		t.Schema.Columns = fromGlueColumns(sd.Columns)
	}
	for k, v := range gt.Parameters {
		switch k {
		case ParamSchemaVersion:
			if n, err := strconv.Atoi(v); err == nil {
				t.Schema.Version = n
			}
		case ParamSchemaCreatedAt:
			t.Schema.CreatedAt, _ = time.Parse(time.RFC3339Nano, v)
		case ParamCreatedAt:
			t.CreatedAt, _ = time.Parse(time.RFC3339Nano, v)
		case ParamSteward:
			t.Steward = v
		case "EXTERNAL":
		case "classification":
			t.Format = strings.ToLower(v)
		default:
			if !strings.HasPrefix(k, reservedPrefix) {
				if t.Parameters == nil {
					t.Parameters = map[string]string{}
				}
				t.Parameters[k] = v
			}
		}
	}
	return t
}

func fromGluePartition(p types.Partition) Partition {
	out := Partition{Values: slices.Clone(p.Values), Parameters: maps.Clone(p.Parameters)}
	if p.StorageDescriptor != nil {
		out.Location = aws.ToString(p.StorageDescriptor.Location)
	}
	if len(out.Parameters) == 0 {
		out.Parameters = nil
	}
	return out
}

func fromGlueDatabase(d *types.Database) *Database {
	out := &Database{Name: aws.ToString(d.Name), Description: aws.ToString(d.Description), LocationURI: aws.ToString(d.LocationUri)}
	if len(d.Parameters) > 0 {
		out.Parameters = maps.Clone(d.Parameters)
	}
	return out
}

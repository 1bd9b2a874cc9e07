package lakekit_test

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/lakeformation"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/lakekit/lakekit/catalog"
	"github.com/lakekit/lakekit/lake/s3store"
	"github.com/lakekit/lakekit/orchestrate"
	"github.com/lakekit/lakekit/query"
)

// The AWS SDK clients satisfy the interfaces lakekit's constructors take
// (checked by the compiler: this file does not build otherwise). The
// s3store interface embeds the transfer manager's S3APIClient.
var (
	_ catalog.GlueAPI          = (*glue.Client)(nil)
	_ catalog.LakeFormationAPI = (*lakeformation.Client)(nil)
	_ query.AthenaAPI          = (*athena.Client)(nil)
	_ query.RedshiftDataAPI    = (*redshiftdata.Client)(nil)
	_ orchestrate.SFNAPI       = (*sfn.Client)(nil)
	_ orchestrate.GlueAPI      = (*glue.Client)(nil)
	_ s3store.S3API            = (*s3.Client)(nil)
)

// clientInterfaces pairs each exported client interface with the SDK
// client it narrows.
var clientInterfaces = []struct {
	iface  reflect.Type
	client reflect.Type
}{
	{reflect.TypeFor[catalog.GlueAPI](), reflect.TypeFor[*glue.Client]()},
	{reflect.TypeFor[catalog.LakeFormationAPI](), reflect.TypeFor[*lakeformation.Client]()},
	{reflect.TypeFor[query.AthenaAPI](), reflect.TypeFor[*athena.Client]()},
	{reflect.TypeFor[query.RedshiftDataAPI](), reflect.TypeFor[*redshiftdata.Client]()},
	{reflect.TypeFor[orchestrate.SFNAPI](), reflect.TypeFor[*sfn.Client]()},
	{reflect.TypeFor[orchestrate.GlueAPI](), reflect.TypeFor[*glue.Client]()},
	{reflect.TypeFor[s3store.S3API](), reflect.TypeFor[*s3.Client]()},
}

// TestSDKClientsSatisfyInterfaces: each exported client interface is met
// by the SDK's *Client and lists only SDK operations, each in the SDK's
// shape (context, *XxxInput, ...func(*Options)) → (*XxxOutput, error), so a
// stub written against the interface has the same methods as the client.
func TestSDKClientsSatisfyInterfaces(t *testing.T) {
	for _, c := range clientInterfaces {
		if !c.client.Implements(c.iface) {
			t.Errorf("%v does not implement %v", c.client, c.iface)
			continue
		}
		if c.iface.NumMethod() == 0 {
			t.Errorf("%v lists no operations", c.iface)
		}
		for i := range c.iface.NumMethod() {
			m := c.iface.Method(i)
			ft := m.Type
			ok := ft.NumIn() == 3 && ft.IsVariadic() && ft.NumOut() == 2 &&
				ft.In(1).Kind() == reflect.Pointer && ft.In(1).Elem().Name() == m.Name+"Input" &&
				ft.Out(0).Kind() == reflect.Pointer && ft.Out(0).Elem().Name() == m.Name+"Output"
			if !ok {
				t.Errorf("%v.%s is not an SDK operation: %v", c.iface, m.Name, ft)
			}
		}
	}
}

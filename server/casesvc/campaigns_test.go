package casesvc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/baoshui/baoshui/server/campaigns"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// TestVersionedCampaignsOnTheStore runs two services on one real store, as
// two servers would: each change is a new revision, a stale or raced change
// is a conflict, and a service opened afterwards reads the latest revision.
func TestVersionedCampaignsOnTheStore(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	one, err := casesvc.OpenCampaigns(ctx, st, casesvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	two, err := casesvc.OpenCampaigns(ctx, st, casesvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := campaigns.Campaign{ID: "bairi-2020", Name: "百日整治行动", From: "2020-06-01", To: "2020-09-08",
		Targets: map[string]int64{"cases_filed": 100}}
	if _, rev, err := one.PutCampaign(ctx, "office", 0, c); err != nil || rev != 1 {
		t.Fatalf("create: rev %d, %v", rev, err)
	}
	if _, _, err := one.PutCampaign(ctx, "office", 0, c); !errors.Is(err, enforcement.ErrExists) {
		t.Errorf("create twice: %v", err)
	}
	c.Targets["cases_filed"] = 120
	if _, rev, err := one.PutCampaign(ctx, "office", 1, c); err != nil || rev != 2 {
		t.Fatalf("change: rev %d, %v", rev, err)
	}
	if _, _, err := one.PutCampaign(ctx, "office", 1, c); !errors.Is(err, enforcement.ErrConflict) {
		t.Errorf("a stale base: %v", err)
	}
	// The other server never saw the campaign: its create loses to the
	// stored revision 1.
	if _, _, err := two.PutCampaign(ctx, "other", 0, c); !errors.Is(err, enforcement.ErrConflict) {
		t.Errorf("a raced create: %v", err)
	}
	c.Name = ""
	if _, _, err := one.PutCampaign(ctx, "office", 2, c); !errors.Is(err, enforcement.ErrInvalid) {
		t.Errorf("an invalid change: %v", err)
	}
	three, err := casesvc.OpenCampaigns(ctx, st, casesvc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, rev, err := three.Campaign("bairi-2020")
	if err != nil || rev != 2 || got.Targets["cases_filed"] != 120 || got.Name != "百日整治行动" {
		t.Errorf("after a restart: %+v rev %d, %v", got, rev, err)
	}
}

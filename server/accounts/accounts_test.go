package accounts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// TestReloadLearnsWhatAnotherInstanceCreated: two services on one store, as
// two server instances; what one creates, the other knows after Reload (or
// within an interval of Follow), and signs in with.
func TestReloadLearnsWhatAnotherInstanceCreated(t *testing.T) {
	sts := storetest.Engines(t)[0].OpenShared(t, 2) // the embedded SQLite engine
	ctx := context.Background()
	signer, err := auth.NewSigner(make([]byte, 32), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	a, err := accounts.Open(ctx, sts[0], signer, accounts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := accounts.Open(ctx, sts[1], signer, accounts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUnit(ctx, "root", enforcement.Unit{ID: "miyun", Name: "密云", Tier: enforcement.TierDistrict}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateUser(ctx, "root", accounts.NewUser{Username: "off-1", Password: "password-off-1", Role: auth.RoleOfficer, Unit: "miyun"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RegisterDevice(ctx, "off-1", auth.Device{ID: "phone-1", Name: "phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Login(ctx, "off-1", "password-off-1"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Fatalf("b before reload: %v; want bad credentials (it does not know the user yet)", err)
	}
	// An instance that knows the store is shared looks up what it does not
	// hold, by _id, before it answers "unknown".
	c, err := accounts.Open(ctx, sts[1], signer, accounts.Options{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.RegisterDevice(ctx, "off-1", auth.Device{ID: "phone-0", Name: "phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "off-1", "password-off-1"); err != nil {
		t.Errorf("a shared instance signs in a user created on another: %v", err)
	}
	if d, ok := c.Device("phone-0"); !ok || d.Owner != "off-1" {
		t.Errorf("a shared instance's device phone-0: %+v %v", d, ok)
	}
	if _, ok := c.Device("no-such-phone"); ok {
		t.Error("a device nobody registered was found")
	}
	if _, err := c.Login(ctx, "nobody", "password-nobody"); !errors.Is(err, accounts.ErrBadCredentials) {
		t.Errorf("an unknown user: %v; want bad credentials", err)
	}

	added, err := b.Reload(ctx)
	if err != nil || added != 4 {
		t.Fatalf("reload: added %d, %v; want the unit, the user and the two devices", added, err)
	}
	if _, err := b.Login(ctx, "off-1", "password-off-1"); err != nil {
		t.Errorf("b after reload: %v", err)
	}
	if d, ok := b.Device("phone-1"); !ok || d.Owner != "off-1" {
		t.Errorf("b's device phone-1: %+v %v", d, ok)
	}
	if _, ok := b.Units.Get("miyun"); !ok {
		t.Error("b does not know unit miyun")
	}
	if added, err := b.Reload(ctx); err != nil || added != 0 {
		t.Errorf("second reload: added %d, %v; want nothing new", added, err)
	}

	// Follow does the same in the background.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Follow(fctx, 10*time.Millisecond, func(err error) { t.Error(err) })
	if _, err := b.RegisterDevice(ctx, "off-1", auth.Device{ID: "phone-2", Name: "phone"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := a.Device("phone-2"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a never learned of phone-2")
		}
	}
}

package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"
)

// tokens is the answer to a login or refresh.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// Session is who is signed in on this phone, as the server said at Login.
type Session struct {
	Username string `json:"username"`
	// Unit is the officer's team: the unit a captured record defaults to.
	Unit       string    `json:"unit,omitempty"`
	Role       string    `json:"role,omitempty"`
	SignedInAt time.Time `json:"signed_in_at"`
}

func (c *Client) storeTokens(t tokens) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		if err := putString(tx, mAccessToken, t.AccessToken); err != nil {
			return err
		}
		return putString(tx, mRefreshToken, t.RefreshToken)
	})
}

// Login signs username in with password and keeps the tokens in the
// outbox; it then asks the server who the user is (GET /api/v1/me) to learn
// their unit. A wrong password is a *Problem (401 bad-credentials). Signing
// in as another officer keeps the queue, but the device stays registered to
// the first one: pushes are then refused until the device is registered
// anew.
func (c *Client) Login(ctx context.Context, username, password string) (Session, error) {
	req, err := jsonRequest(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password}, false)
	if err != nil {
		return Session{}, fmt.Errorf("client: login: %w", err)
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Session{}, fmt.Errorf("client: login: %w", err)
	}
	if resp.status != http.StatusOK {
		return Session{}, fmt.Errorf("client: login: %w", resp.problem())
	}
	var t tokens
	if err := resp.decode(&t); err != nil {
		return Session{}, fmt.Errorf("client: login: %w", err)
	}
	if t.AccessToken == "" {
		return Session{}, errors.New("client: login: the answer has no access_token")
	}
	s := Session{Username: username, SignedInAt: c.now().UTC()}
	var prev Session
	err = c.db.Update(func(tx *bolt.Tx) error {
		if _, err := getJSON(tx, bMeta, []byte(mSession), &prev); err != nil {
			return err
		}
		if prev.Username != "" && prev.Username != username {
			// The device was registered to the previous officer.
			if err := putString(tx, mRegistered, ""); err != nil {
				return err
			}
		}
		if err := putString(tx, mAccessToken, t.AccessToken); err != nil {
			return err
		}
		if err := putString(tx, mRefreshToken, t.RefreshToken); err != nil {
			return err
		}
		return putJSON(tx, bMeta, []byte(mSession), s)
	})
	if err != nil {
		return Session{}, fmt.Errorf("client: login: %w", err)
	}
	// Who the user is matters only for defaults; a server without /me
	// still gives a working session.
	resp, err = c.do(ctx, request{method: http.MethodGet, path: "/api/v1/me", auth: true})
	if err == nil && resp.status == http.StatusOK {
		var me struct {
			Username string `json:"username"`
			Role     string `json:"role"`
			Unit     string `json:"unit"`
		}
		if resp.decode(&me) == nil {
			s.Unit, s.Role = me.Unit, me.Role
			if err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bMeta, []byte(mSession), s) }); err != nil {
				return Session{}, fmt.Errorf("client: login: %w", err)
			}
		}
	}
	return s, nil
}

// Session returns who signed in last on this phone, and false when nobody
// has. The session may have expired since; Sync says so.
func (c *Client) Session() (Session, bool, error) {
	var s Session
	var ok bool
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		ok, err = getJSON(tx, bMeta, []byte(mSession), &s)
		return err
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("client: session: %w", err)
	}
	return s, ok, nil
}

// Logout forgets the tokens on this phone (the queue stays); the server's
// refresh token is revoked when the server can be reached.
func (c *Client) Logout(ctx context.Context) error {
	var refresh string
	_ = c.db.View(func(tx *bolt.Tx) error { refresh = getString(tx, mRefreshToken); return nil })
	if refresh != "" && c.server != "" {
		if req, err := jsonRequest(http.MethodPost, "/api/v1/auth/logout", map[string]string{"refresh_token": refresh}, false); err == nil {
			// Best effort: the tokens go from the phone either way.
			_, _ = c.do(ctx, req)
		}
	}
	if err := c.storeTokens(tokens{}); err != nil {
		return fmt.Errorf("client: logout: %w", err)
	}
	return nil
}

// Registered reports whether RegisterDevice has succeeded for the officer
// signed in now.
func (c *Client) Registered() bool {
	var ok bool
	_ = c.db.View(func(tx *bolt.Tx) error { ok = getString(tx, mRegistered) != ""; return nil })
	return ok
}

// RegisterDevice registers this phone (DeviceID) to the signed-in officer
// under name (POST /api/v1/devices). A device the server already knows
// (409 already-exists) counts as registered: if it is another officer's,
// pushes will be refused with ErrDeviceNotRegistered.
func (c *Client) RegisterDevice(ctx context.Context, name string) error {
	req, err := jsonRequest(http.MethodPost, "/api/v1/devices", map[string]string{"id": c.deviceID, "name": name}, true)
	if err != nil {
		return fmt.Errorf("client: register device: %w", err)
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return fmt.Errorf("client: register device: %w", err)
	}
	switch p := resp.problem(); {
	case resp.status == http.StatusCreated || resp.status == http.StatusOK:
	case resp.status == http.StatusConflict && p.HasType(ProblemAlreadyExists):
	default:
		return fmt.Errorf("client: register device: %w", p)
	}
	if err := c.db.Update(func(tx *bolt.Tx) error { return putString(tx, mRegistered, "1") }); err != nil {
		return fmt.Errorf("client: register device: %w", err)
	}
	return nil
}

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxResponseBytes bounds what the client reads of one answer.
const maxResponseBytes = 64 << 20

// request is one call to the server, by path under its base URL.
type request struct {
	method      string
	path        string
	query       url.Values
	body        []byte
	contentType string
	header      map[string]string
	// auth sends the access token (and refreshes it once on 401).
	auth bool
}

// response is a server's answer below 500 (or a 5xx that was not retried).
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) problem() *Problem { return parseProblem(r.status, r.body) }

// decode decodes a JSON body into v.
func (r *response) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("the server's %d answer is not the JSON expected: %w", r.status, err)
	}
	return nil
}

// jsonRequest returns a request whose body is v as JSON.
func jsonRequest(method, path string, v any, auth bool) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return request{}, err
	}
	return request{method: method, path: path, body: b, contentType: "application/json", auth: auth}, nil
}

// do sends req. It retries network failures, 429 and 5xx answers per the
// Backoff, and on a 401 to an authenticated request it refreshes the access
// token once and sends again. It returns the answer for any other status;
// ErrOffline when the network failed on the last attempt, ErrUnavailable
// (with the server's problem) when the last answer was 5xx or 429,
// ErrSignInRequired when no valid token can be had, and context.Canceled
// when ctx is cancelled (a passed deadline counts as ErrOffline).
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	if c.server == "" {
		return nil, ErrNoServer
	}
	refreshed := false
	attempt := 0
	for {
		attempt++
		token := ""
		if req.auth {
			var err error
			if token, err = c.accessToken(ctx); err != nil {
				return nil, err
			}
		}
		resp, err := c.send(ctx, req, token)
		var retryAfter time.Duration
		switch {
		case err != nil:
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			if ctx.Err() != nil {
				// The caller's deadline passed before the server answered.
				return nil, fmt.Errorf("%w: %w", ErrOffline, ctx.Err())
			}
		case resp.status == http.StatusUnauthorized && req.auth:
			if refreshed {
				return nil, fmt.Errorf("%w: %w", ErrSignInRequired, resp.problem())
			}
			refreshed = true
			if err := c.refresh(ctx, token); err != nil {
				return nil, err
			}
			attempt-- // a refreshed token is a new try, not a retry
			continue
		case resp.status >= 500 || resp.status == http.StatusTooManyRequests:
			retryAfter = parseRetryAfter(resp.header.Get("Retry-After"), c.now())
			err = fmt.Errorf("%w: %w", ErrUnavailable, resp.problem())
		default:
			return resp, nil
		}
		if attempt >= c.backoff.Attempts {
			if resp == nil {
				return nil, fmt.Errorf("%w: %w", ErrOffline, err)
			}
			return nil, err
		}
		t := time.NewTimer(c.backoff.wait(attempt, retryAfter))
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			if resp == nil {
				return nil, fmt.Errorf("%w: %w", ErrOffline, ctx.Err())
			}
			return nil, fmt.Errorf("%w: %w", err, ctx.Err())
		case <-t.C:
		}
	}
}

// send makes one attempt; a nil response comes with the network error.
func (c *Client) send(ctx context.Context, req request, token string) (*response, error) {
	u := c.server + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", "application/json, application/problem+json")
	hr.Header.Set("User-Agent", "baoshui-mobile-sync/1")
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	hresp, err := c.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	// An answer cut midway is a network failure: the caller cannot know
	// what it said.
	b, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes))
	if err != nil {
		return nil, err
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: b}, nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// accessToken returns the access token to send; with none but a refresh
// token it refreshes first.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	var access, refresh string
	err := c.db.View(func(tx *bolt.Tx) error {
		access, refresh = getString(tx, mAccessToken), getString(tx, mRefreshToken)
		return nil
	})
	if err != nil {
		return "", err
	}
	if access != "" {
		return access, nil
	}
	if refresh == "" {
		return "", fmt.Errorf("%w: no session on this phone", ErrSignInRequired)
	}
	if err := c.refresh(ctx, ""); err != nil {
		return "", err
	}
	return c.accessToken(ctx)
}

// refresh trades the refresh token for new tokens, unless another caller
// has already replaced stale (the access token that was refused). A refusal
// ends the session: both tokens are dropped and ErrSignInRequired returned.
func (c *Client) refresh(ctx context.Context, stale string) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	var access, refresh string
	if err := c.db.View(func(tx *bolt.Tx) error {
		access, refresh = getString(tx, mAccessToken), getString(tx, mRefreshToken)
		return nil
	}); err != nil {
		return err
	}
	if access != "" && access != stale {
		return nil
	}
	if refresh == "" {
		return fmt.Errorf("%w: the session expired", ErrSignInRequired)
	}
	req, err := jsonRequest(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": refresh}, false)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if resp.status != http.StatusOK {
		if resp.status == http.StatusUnauthorized || resp.status == http.StatusBadRequest || resp.status == http.StatusUnprocessableEntity {
			if err := c.storeTokens(tokens{}); err != nil {
				return err
			}
			return fmt.Errorf("%w: refresh: %w", ErrSignInRequired, resp.problem())
		}
		return fmt.Errorf("refresh: %w", resp.problem())
	}
	var t tokens
	if err := resp.decode(&t); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if t.AccessToken == "" {
		return errors.New("refresh: the answer has no access_token")
	}
	if t.RefreshToken == "" {
		t.RefreshToken = refresh
	}
	return c.storeTokens(t)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoshui/baoshui/server/internal/observe"
)

// apiClient talks HTTP to the server under load and records the timing of
// the calls it is asked to name. Given several instances of one server (a
// comma-separated list of base URLs), it sends each call to the next in
// turn, as a load balancer would.
type apiClient struct {
	bases   []string
	next    atomic.Uint64
	http    *http.Client
	rec     *recorder
	timeout time.Duration
}

func newAPIClient(base string, conns int, timeout time.Duration, rec *recorder) *apiClient {
	tr := &http.Transport{MaxIdleConns: conns + 16, MaxIdleConnsPerHost: conns + 16, IdleConnTimeout: 90 * time.Second}
	c := &apiClient{http: &http.Client{Transport: tr}, rec: rec, timeout: timeout}
	for _, b := range strings.Split(base, ",") {
		c.bases = append(c.bases, strings.TrimRight(strings.TrimSpace(b), "/"))
	}
	return c
}

// base is the instance the next call goes to.
func (c *apiClient) base() string {
	return c.bases[(c.next.Add(1)-1)%uint64(len(c.bases))]
}

// errStatus is a non-2xx answer.
type errStatus struct {
	status      int
	msg         string // the problem's type and detail, or the start of the body
	expectedSeq int64  // expected_seq of a /problems/seq-gap
}

func (e *errStatus) Error() string { return strconv.Itoa(e.status) + " " + e.msg }

// call sends method path with body (JSON; nil sends none) as the holder of
// token ("" sends none) and decodes a 2xx answer into out (when not nil).
// With a non-empty name the call is timed and counted under that endpoint.
// It returns the status (0 on a transport failure) and an error for a
// transport failure or a non-2xx status.
func (c *apiClient) call(name, method, path, token string, body, out any) (int, error) {
	return c.callAt(c.base(), name, method, path, token, body, out)
}

// callAt is call sent to the instance at base.
func (c *apiClient) callAt(base, name, method, path, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	t0 := time.Now()
	status, err := c.do(req, out)
	if name != "" {
		failure := ""
		if err != nil {
			failure = err.Error()
		}
		c.rec.observe(name, time.Since(t0), failure)
	}
	return status, err
}

func (c *apiClient) do(req *http.Request, out any) (int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // without the method and URL, so that messages group
		}
		return 0, fmt.Errorf("transport: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("transport: reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		es := &errStatus{status: resp.StatusCode, msg: problemText(b)}
		var gap struct {
			ExpectedSeq int64 `json:"expected_seq"`
		}
		if json.Unmarshal(b, &gap) == nil {
			es.expectedSeq = gap.ExpectedSeq
		}
		return resp.StatusCode, es
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("undecodable answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// problemText is the type and detail of an RFC 9457 problem body, or the
// start of any other body.
func problemText(b []byte) string {
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(b, &p) == nil && p.Type != "" {
		d := p.Detail
		if d == "" {
			d = p.Title
		}
		return p.Type + ": " + d
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// session is one signed-in account whose token is renewed shortly before
// it expires, as a client does, and when the server answers 401 all the
// same.
type session struct {
	c        *apiClient
	user, pw string
	mu       sync.Mutex
	token    string
	renewAt  time.Time
}

func (c *apiClient) login(user, password string) (*session, error) {
	s := &session{c: c, user: user, pw: password}
	if err := s.renew(""); err != nil {
		return nil, err
	}
	return s, nil
}

// renew signs in again unless another caller already replaced stale.
func (s *session) renew(stale string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != stale {
		return nil
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	t0 := time.Now()
	if _, err := s.c.call("", "POST", "/api/v1/auth/login", "", map[string]string{"username": s.user, "password": s.pw}, &tok); err != nil {
		return fmt.Errorf("login %s: %w", s.user, err)
	}
	s.token = tok.AccessToken
	s.renewAt = t0.Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute)
	return nil
}

// current is the token to send, renewed first when it expires within a
// minute.
func (s *session) current() string {
	s.mu.Lock()
	tok, due := s.token, !s.renewAt.IsZero() && time.Now().After(s.renewAt)
	s.mu.Unlock()
	if due {
		if s.renew(tok) == nil {
			s.mu.Lock()
			tok = s.token
			s.mu.Unlock()
		}
	}
	return tok
}

// call is apiClient.call with the session's token, signing in again once
// on 401.
func (s *session) call(name, method, path string, body, out any) (int, error) {
	tok := s.current()
	st, err := s.c.call(name, method, path, tok, body, out)
	if st == http.StatusUnauthorized {
		if s.renew(tok) == nil {
			return s.c.call(name, method, path, s.current(), body, out)
		}
	}
	return st, err
}

// metrics scrapes the server's /metrics into name (with its labels) →
// value; with several instances, each value is the sum over them (memory,
// CPU time, goroutines and counters all add up).
func (c *apiClient) metrics() (map[string]float64, error) {
	sum := map[string]float64{}
	for _, base := range c.bases {
		m, err := c.scrape(base)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}

func (c *apiClient) scrape(base string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s/metrics: status %d", base, resp.StatusCode)
	}
	return observe.ParseMetrics(resp.Body)
}

// Package godo_lifecycle drives `wildside-sandbox serve` with DigitalOcean's own Go client, godo, the
// way a real client would: create, wait for async states by polling, read, update, delete, and check that
// nothing is left behind. It is run by `cargo test --test sandbox_godo`, which starts the sandbox and passes
// its URL in WILDSIDE_SANDBOX_URL.
//
// This file holds the plumbing: the client, polling, listing every page and error assertions.
package godo_lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"
)

// sandboxURLEnv names the variable that carries the sandbox's base URL.
const sandboxURLEnv = "WILDSIDE_SANDBOX_URL"

// region is where every resource of the suite lives.
const region = "nyc3"

// pollTimeout bounds every wait for an async state; the sandbox settles after its `--delay`.
const pollTimeout = 30 * time.Second

// pollInterval is how often a waiting client asks again.
const pollInterval = 50 * time.Millisecond

// newClient builds a godo client for the sandbox; without WILDSIDE_SANDBOX_URL the test fails, never skips,
// so a misconfigured run cannot pass by testing nothing.
func newClient(t *testing.T) *godo.Client {
	t.Helper()
	base := os.Getenv(sandboxURLEnv)
	if base == "" {
		t.Fatalf("%s is not set: start `wildside-sandbox serve` and export its URL "+
			"(`cargo test --test sandbox_godo` does both)", sandboxURLEnv)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	// Any bearer token is accepted by the sandbox; oauth2 sends it as godo's users do.
	source := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "wildside-godo-lifecycle"})
	httpClient := oauth2.NewClient(context.Background(), source)
	httpClient.Timeout = 10 * time.Second
	client, err := godo.New(httpClient, godo.SetBaseURL(base), godo.SetUserAgent("wildside-godo-lifecycle"))
	if err != nil {
		t.Fatalf("building the godo client for %s: %v", base, err)
	}
	return client
}

// testContext bounds a whole scenario.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must fails the test when a call failed, naming what was being done.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eventually polls check until it reports done, as a client waiting for an async state does. check returns
// whether the state was reached and a description of the state seen, for the failure message.
func eventually(t *testing.T, what string, check func() (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	last := "nothing seen yet"
	for {
		done, seen, err := check()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if done {
			return
		}
		last = seen
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still not there after %s (last seen: %s)", what, pollTimeout, last)
		}
		time.Sleep(pollInterval)
	}
}

// apiError returns the godo error response behind err, failing the test when err is not one.
func apiError(t *testing.T, what string, err error) *godo.ErrorResponse {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: expected an API error, got success", what)
	}
	var response *godo.ErrorResponse
	if !errors.As(err, &response) {
		t.Fatalf("%s: expected a *godo.ErrorResponse, got %T: %v", what, err, err)
	}
	return response
}

// expectStatus asserts that err is an API error with the given HTTP status and a message.
func expectStatus(t *testing.T, what string, err error, status int) *godo.ErrorResponse {
	t.Helper()
	response := apiError(t, what, err)
	if response.Response == nil || response.Response.StatusCode != status {
		got := 0
		if response.Response != nil {
			got = response.Response.StatusCode
		}
		t.Fatalf("%s: expected HTTP %d, got %d (%v)", what, status, got, err)
	}
	if response.Message == "" {
		t.Fatalf("%s: the HTTP %d error has no message", what, status)
	}
	if response.RequestID == "" {
		t.Fatalf("%s: the HTTP %d error has no request_id", what, status)
	}
	return response
}

// isNotFound reports whether err is the API's 404; any other error fails the test.
func isNotFound(t *testing.T, what string, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var response *godo.ErrorResponse
	if errors.As(err, &response) && response.Response != nil && response.Response.StatusCode == http.StatusNotFound {
		return true
	}
	t.Fatalf("%s: %v", what, err)
	return false
}

// waitGone polls get until the resource answers 404.
func waitGone(t *testing.T, what string, get func() (*godo.Response, error)) {
	t.Helper()
	eventually(t, what+" to be gone", func() (bool, string, error) {
		_, err := get()
		if isNotFound(t, "reading "+what, err) {
			return true, "", nil
		}
		return false, "still there", nil
	})
}

// waitAction polls an action until it completes; an errored action fails the test.
func waitAction(t *testing.T, ctx context.Context, client *godo.Client, what string, id int) {
	t.Helper()
	eventually(t, what+" (action "+fmt.Sprint(id)+") to complete", func() (bool, string, error) {
		action, _, err := client.Actions.Get(ctx, id)
		if err != nil {
			return false, "", err
		}
		if action.Status == "errored" {
			return false, "", fmt.Errorf("action %d (%s) errored", id, action.Type)
		}
		return action.Status == godo.ActionCompleted, action.Status, nil
	})
}

// cleanup registers a best-effort delete that runs when the test ends, so a failed step does not leave
// resources behind to confuse the final emptiness check; a 404 means the test already deleted it.
func cleanup(t *testing.T, what string, remove func(context.Context) (*godo.Response, error)) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := remove(ctx); err != nil {
			var response *godo.ErrorResponse
			if errors.As(err, &response) && response.Response != nil && response.Response.StatusCode == http.StatusNotFound {
				return
			}
			t.Logf("cleanup: deleting %s: %v", what, err)
		}
	})
}

// listAll follows the pages of a list call until the last one, checking that every page agrees on the
// total, and returns every item.
func listAll[T any](t *testing.T, what string, perPage int, list func(*godo.ListOptions) ([]T, *godo.Response, error)) []T {
	t.Helper()
	var all []T
	options := &godo.ListOptions{Page: 1, PerPage: perPage}
	total := -1
	for pages := 1; ; pages++ {
		if pages > 1000 {
			t.Fatalf("listing %s: more than 1000 pages; the links never end", what)
		}
		items, resp, err := list(options)
		must(t, "listing "+what, err)
		all = append(all, items...)
		if resp.Meta == nil {
			t.Fatalf("listing %s: page %d has no meta", what, options.Page)
		}
		if total >= 0 && resp.Meta.Total != total {
			t.Fatalf("listing %s: meta.total changed from %d to %d between pages", what, total, resp.Meta.Total)
		}
		total = resp.Meta.Total
		if len(items) > perPage {
			t.Fatalf("listing %s: page %d has %d items, more than per_page %d", what, options.Page, len(items), perPage)
		}
		if resp.Links == nil || resp.Links.IsLastPage() {
			break
		}
		current, err := resp.Links.CurrentPage()
		must(t, "reading the current page of "+what, err)
		if current != options.Page {
			t.Fatalf("listing %s: asked for page %d, the links say page %d", what, options.Page, current)
		}
		options = &godo.ListOptions{Page: current + 1, PerPage: perPage}
	}
	if len(all) != total {
		t.Fatalf("listing %s: meta.total is %d but the pages held %d items", what, total, len(all))
	}
	return all
}

package godo_lifecycle

// The behaviours a provider relies on beyond the plain lifecycles: each function checks one of them the way
// godo's users meet it, and leaves nothing behind.

import (
	"context"
	"net/http"
	"testing"

	"github.com/digitalocean/godo"
)

// projectWithoutEnvironment creates a project whose environment is the empty string, as the provider sends
// when its configuration names none, and reads it back without one.
func projectWithoutEnvironment(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	project, _, err := client.Projects.Create(ctx, &godo.CreateProjectRequest{
		Name:    "no-environment",
		Purpose: "Testing",
	})
	must(t, "creating a project without an environment", err)
	cleanup(t, "project "+project.ID, func(ctx context.Context) (*godo.Response, error) {
		return client.Projects.Delete(ctx, project.ID)
	})
	read, _, err := client.Projects.Get(ctx, project.ID)
	must(t, "reading the project", err)
	if read.Environment != "" || read.Name != "no-environment" {
		t.Fatalf("the project reads back as %+v, want no environment", read)
	}
	_, err = client.Projects.Delete(ctx, project.ID)
	must(t, "deleting the project", err)
}

// tagOutlivesItsCarrier checks that a firewall's tag can be read and deleted, and that a second delete is
// a 404.
func tagOutlivesItsCarrier(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	firewall, _, err := client.Firewalls.Create(ctx, &godo.FirewallRequest{
		Name: "tag-carrier",
		Tags: []string{"carried"},
		InboundRules: []godo.InboundRule{{
			Protocol:  "tcp",
			PortRange: "22",
			Sources:   &godo.Sources{Addresses: []string{"10.0.0.0/8"}},
		}},
	})
	must(t, "creating a tagged firewall", err)
	cleanup(t, "tag carried", func(ctx context.Context) (*godo.Response, error) { return client.Tags.Delete(ctx, "carried") })
	_, err = client.Firewalls.Delete(ctx, firewall.ID)
	must(t, "deleting the firewall", err)
	tag, _, err := client.Tags.Get(ctx, "carried")
	must(t, "reading the tag the firewall carried", err)
	if tag.Name != "carried" {
		t.Fatalf("the tag reads back as %+v", tag)
	}
	_, err = client.Tags.Delete(ctx, "carried")
	must(t, "deleting the tag", err)
	_, err = client.Tags.Delete(ctx, "carried")
	expectStatus(t, "deleting the tag again", err, http.StatusNotFound)
}

// loadBalancerSizes creates a load balancer by its deprecated size slug and reads back the size units it
// stands for, and the slug.
func loadBalancerSizes(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	balancer, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name:     "sized",
		Region:   region,
		SizeSlug: "lb-medium",
		ForwardingRules: []godo.ForwardingRule{{
			EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80,
		}},
	})
	must(t, "creating a load balancer by size slug", err)
	cleanup(t, "load balancer "+balancer.ID, func(ctx context.Context) (*godo.Response, error) {
		return client.LoadBalancers.Delete(ctx, balancer.ID)
	})
	read, _, err := client.LoadBalancers.Get(ctx, balancer.ID)
	must(t, "reading the load balancer", err)
	if read.SizeSlug != "lb-medium" || read.SizeUnit != 3 {
		t.Fatalf("the load balancer reads back size %q and %d units, want lb-medium and 3", read.SizeSlug, read.SizeUnit)
	}
	_, err = client.LoadBalancers.Delete(ctx, balancer.ID)
	must(t, "deleting the load balancer", err)
}

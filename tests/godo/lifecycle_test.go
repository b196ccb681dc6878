package godo_lifecycle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

// TestLifecycle runs the scenarios in order, then checks that they left the sandbox empty. The order matters
// only for the last step, so it is one test with subtests rather than tests that rely on file order.
func TestLifecycle(t *testing.T) {
	client := newClient(t)
	t.Run("RateLimitHeaders", func(t *testing.T) { rateLimitHeaders(t, client) })
	t.Run("Errors", func(t *testing.T) { apiErrors(t, client) })
	t.Run("Pagination", func(t *testing.T) { pagination(t, client) })
	t.Run("Kubernetes", func(t *testing.T) { kubernetesLifecycle(t, client) })
	t.Run("WebStack", func(t *testing.T) { webStackLifecycle(t, client) })
	t.Run("ProjectWithoutEnvironment", func(t *testing.T) { projectWithoutEnvironment(t, client) })
	t.Run("TagOutlivesItsCarrier", func(t *testing.T) { tagOutlivesItsCarrier(t, client) })
	t.Run("LoadBalancerSizes", func(t *testing.T) { loadBalancerSizes(t, client) })
	t.Run("SSHKeys", func(t *testing.T) { sshKeys(t, client) })
	t.Run("ImageBySlug", func(t *testing.T) { imageBySlug(t, client) })
	t.Run("DropletSnapshotsAndBackups", func(t *testing.T) { dropletSnapshotsAndBackups(t, client) })
	t.Run("ResizeDiskAndIPv6", func(t *testing.T) { resizeDiskAndIPv6(t, client) })
	t.Run("VolumeSnapshots", func(t *testing.T) { volumeSnapshots(t, client) })
	t.Run("DomainsAndRecords", func(t *testing.T) { domainsAndRecords(t, client) })
	t.Run("SubnetWorkers", func(t *testing.T) { subnetWorkers(t, client) })
	t.Run("GlobalLoadBalancer", func(t *testing.T) { globalLoadBalancer(t, client) })
	t.Run("AssignDeletedResource", func(t *testing.T) { assignDeletedResource(t, client) })
	t.Run("ClusterUpdateWithNullAddOns", func(t *testing.T) { clusterUpdateWithNullAddOns(t, client) })
	t.Run("Empty", func(t *testing.T) { sandboxIsEmpty(t, client) })
}

// rateLimitHeaders checks that godo finds DigitalOcean's rate-limit headers on an ordinary response.
func rateLimitHeaders(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	account, resp, err := client.Account.Get(ctx)
	must(t, "reading the account", err)
	if account.UUID == "" || account.Status != "active" {
		t.Fatalf("the account has uuid %q and status %q, want a uuid and \"active\"", account.UUID, account.Status)
	}
	rate := resp.Rate
	if rate.Limit <= 0 {
		t.Fatalf("resp.Rate.Limit is %d, want > 0 (RateLimit-Limit header)", rate.Limit)
	}
	if rate.Remaining < 0 || rate.Remaining > rate.Limit {
		t.Fatalf("resp.Rate.Remaining is %d, want 0..%d", rate.Remaining, rate.Limit)
	}
	if rate.Reset.Time.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("resp.Rate.Reset is %s, want a time not in the past", rate.Reset.Time)
	}
	// A second request spends one more.
	_, again, err := client.Account.Get(ctx)
	must(t, "reading the account again", err)
	if again.Rate.Remaining >= rate.Remaining {
		t.Fatalf("resp.Rate.Remaining went from %d to %d, want it to go down", rate.Remaining, again.Rate.Remaining)
	}
}

// apiErrors checks the error responses godo decodes: 404 for an unknown droplet, 422 for a bad size slug.
func apiErrors(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	_, resp, err := client.Droplets.Get(ctx, 987654321)
	expectStatus(t, "reading an unknown droplet", err, http.StatusNotFound)
	if resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("reading an unknown droplet: the response is not the 404")
	}

	_, _, err = client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name:   "lifecycle-bad-size",
		Region: region,
		Size:   "s-99vcpu-nope",
		Image:  godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
	})
	response := expectStatus(t, "creating a droplet with an unknown size", err, http.StatusUnprocessableEntity)
	if !strings.Contains(response.Message, "size") {
		t.Fatalf("the 422 for an unknown size says %q, want it to name the size", response.Message)
	}

	_, err = client.Kubernetes.Delete(ctx, "00000000-0000-4000-8000-000000000000")
	expectStatus(t, "deleting an unknown cluster", err, http.StatusNotFound)
}

// pagination creates 25 tags and walks them 10 to a page.
func pagination(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	const count = 25
	const perPage = 10
	before := listAll(t, "tags", 200, func(opt *godo.ListOptions) ([]godo.Tag, *godo.Response, error) {
		return client.Tags.List(ctx, opt)
	})
	var want []string
	for i := range count {
		name := fmt.Sprintf("lifecycle-page-%02d", i)
		want = append(want, name)
		tag, _, err := client.Tags.Create(ctx, &godo.TagCreateRequest{Name: name})
		must(t, "creating tag "+name, err)
		if tag.Name != name {
			t.Fatalf("created tag %q, the API answered %q", name, tag.Name)
		}
		cleanup(t, "tag "+name, func(ctx context.Context) (*godo.Response, error) { return client.Tags.Delete(ctx, name) })
	}

	// Page by page by hand, to check the links and meta godo exposes.
	pages := 0
	var seen []string
	options := &godo.ListOptions{Page: 1, PerPage: perPage}
	for {
		tags, resp, err := client.Tags.List(ctx, options)
		must(t, fmt.Sprintf("listing tags page %d", options.Page), err)
		pages++
		for _, tag := range tags {
			seen = append(seen, tag.Name)
		}
		if resp.Meta == nil || resp.Meta.Total != len(before)+count {
			t.Fatalf("page %d: meta is %+v, want total %d", options.Page, resp.Meta, len(before)+count)
		}
		if resp.Links == nil || resp.Links.Pages == nil {
			t.Fatalf("page %d: no links.pages in a list of %d items with per_page %d", options.Page, len(before)+count, perPage)
		}
		if resp.Links.IsLastPage() {
			if len(tags) == 0 {
				t.Fatalf("the last page (%d) is empty", options.Page)
			}
			break
		}
		if len(tags) != perPage {
			t.Fatalf("page %d holds %d tags, want %d", options.Page, len(tags), perPage)
		}
		if resp.Links.Pages.Next == "" || resp.Links.Pages.Last == "" {
			t.Fatalf("page %d is not the last but has links %+v", options.Page, resp.Links.Pages)
		}
		// Page-numbered lists carry no page token; the page number is the cursor.
		if token, err := resp.Links.NextPageToken(); err != nil || token != "" {
			t.Fatalf("page %d: unexpected next page token %q (%v)", options.Page, token, err)
		}
		current, err := resp.Links.CurrentPage()
		must(t, "reading the current page", err)
		if current != options.Page {
			t.Fatalf("asked for page %d, the links say %d", options.Page, current)
		}
		if pages > count {
			t.Fatalf("still paging after %d pages", pages)
		}
		options = &godo.ListOptions{Page: current + 1, PerPage: perPage}
	}
	if wantPages := (len(before) + count + perPage - 1) / perPage; pages != wantPages {
		t.Fatalf("walked %d pages, want %d", pages, wantPages)
	}
	for _, name := range want {
		if !slices.Contains(seen, name) {
			t.Fatalf("tag %s never appeared while paging (saw %v)", name, seen)
		}
	}
	if len(seen) != len(before)+count {
		t.Fatalf("paging saw %d tags, want %d (duplicates or gaps)", len(seen), len(before)+count)
	}

	for _, name := range want {
		_, err := client.Tags.Delete(ctx, name)
		must(t, "deleting tag "+name, err)
	}
	_, _, err := client.Tags.Get(ctx, want[0])
	expectStatus(t, "reading a deleted tag", err, http.StatusNotFound)
	after := listAll(t, "tags", perPage, func(opt *godo.ListOptions) ([]godo.Tag, *godo.Response, error) {
		return client.Tags.List(ctx, opt)
	})
	if len(after) != len(before) {
		t.Fatalf("%d tags after deleting what the test made, want %d", len(after), len(before))
	}
}

// kubernetesLifecycle: VPC, cluster with a default pool, an extra pool, a resize, kubeconfig and credentials,
// then everything deleted again.
func kubernetesLifecycle(t *testing.T, client *godo.Client) {
	ctx := testContext(t)

	vpc, _, err := client.VPCs.Create(ctx, &godo.VPCCreateRequest{
		Name:        "lifecycle-k8s",
		RegionSlug:  region,
		Description: "godo lifecycle test",
		IPRange:     "10.130.0.0/20",
	})
	must(t, "creating the VPC", err)
	cleanup(t, "VPC "+vpc.ID, func(ctx context.Context) (*godo.Response, error) { return client.VPCs.Delete(ctx, vpc.ID) })
	if vpc.RegionSlug != region || vpc.IPRange != "10.130.0.0/20" || vpc.Default {
		t.Fatalf("the VPC is %+v, want a non-default VPC in %s with 10.130.0.0/20", vpc, region)
	}

	options, _, err := client.Kubernetes.GetOptions(ctx)
	must(t, "reading the Kubernetes options", err)
	if len(options.Versions) == 0 || len(options.Sizes) == 0 || len(options.Regions) == 0 {
		t.Fatalf("the Kubernetes options offer %d versions, %d sizes, %d regions; want some of each",
			len(options.Versions), len(options.Sizes), len(options.Regions))
	}
	version := options.Versions[0].Slug

	// Tags outlive the resources that carried them, as on DigitalOcean: deleted explicitly, after the cluster.
	for _, tag := range []string{"lifecycle", "extra"} {
		cleanup(t, "tag "+tag, func(ctx context.Context) (*godo.Response, error) { return client.Tags.Delete(ctx, tag) })
	}
	cluster, _, err := client.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{
		Name:        "lifecycle",
		RegionSlug:  region,
		VersionSlug: version,
		VPCUUID:     vpc.ID,
		Tags:        []string{"lifecycle"},
		NodePools: []*godo.KubernetesNodePoolCreateRequest{
			{Name: "default", Size: "s-2vcpu-4gb", Count: 2},
		},
	})
	must(t, "creating the cluster", err)
	cleanup(t, "cluster "+cluster.ID, func(ctx context.Context) (*godo.Response, error) {
		return client.Kubernetes.Delete(ctx, cluster.ID)
	})
	if cluster.VPCUUID != vpc.ID || cluster.VersionSlug != version || len(cluster.NodePools) != 1 {
		t.Fatalf("the created cluster has vpc %s, version %s, %d pools; want %s, %s, 1",
			cluster.VPCUUID, cluster.VersionSlug, len(cluster.NodePools), vpc.ID, version)
	}
	if cluster.Status == nil || cluster.Status.State != godo.KubernetesClusterStatusProvisioning {
		t.Fatalf("a new cluster's status is %+v, want provisioning", cluster.Status)
	}

	waitClusterRunning(t, ctx, client, cluster.ID)
	cluster, _, err = client.Kubernetes.Get(ctx, cluster.ID)
	must(t, "reading the running cluster", err)
	if cluster.Endpoint == "" || cluster.IPv4 == "" {
		t.Fatalf("the running cluster has endpoint %q and ipv4 %q, want both", cluster.Endpoint, cluster.IPv4)
	}
	defaultPool := cluster.NodePools[0]
	checkNodes(t, "the default pool", defaultPool, 2)

	extra, _, err := client.Kubernetes.CreateNodePool(ctx, cluster.ID, &godo.KubernetesNodePoolCreateRequest{
		Name:   "extra",
		Size:   "s-1vcpu-2gb",
		Count:  1,
		Tags:   []string{"extra"},
		Labels: map[string]string{"role": "extra"},
	})
	must(t, "creating the extra pool", err)
	if extra.Name != "extra" || extra.Count != 1 || extra.Labels["role"] != "extra" {
		t.Fatalf("the created pool is %+v", extra)
	}
	waitPoolRunning(t, ctx, client, cluster.ID, extra.ID, 1)

	count := 3
	resized, _, err := client.Kubernetes.UpdateNodePool(ctx, cluster.ID, extra.ID, &godo.KubernetesNodePoolUpdateRequest{
		Name:  "extra",
		Count: &count,
	})
	must(t, "resizing the extra pool", err)
	if resized.Count != count {
		t.Fatalf("the resized pool has count %d, want %d", resized.Count, count)
	}
	waitPoolRunning(t, ctx, client, cluster.ID, extra.ID, count)

	pools, _, err := client.Kubernetes.ListNodePools(ctx, cluster.ID, nil)
	must(t, "listing the pools", err)
	if names := poolNames(pools); !slices.Equal(names, []string{"default", "extra"}) {
		t.Fatalf("the cluster's pools are %v, want [default extra]", names)
	}

	config, _, err := client.Kubernetes.GetKubeConfig(ctx, cluster.ID, nil)
	must(t, "reading the kubeconfig", err)
	// The sandbox writes its kubeconfig as JSON (which is YAML); check the keys, not the layout.
	for _, want := range []string{"apiVersion", "Config", "clusters", "users", "current-context", cluster.Endpoint} {
		if !bytes.Contains(config.KubeconfigYAML, []byte(want)) {
			t.Fatalf("the kubeconfig lacks %q:\n%s", want, config.KubeconfigYAML)
		}
	}
	expiry := 600
	credentials, _, err := client.Kubernetes.GetCredentials(ctx, cluster.ID, &godo.KubernetesClusterCredentialsGetRequest{
		ExpirySeconds: &expiry,
	})
	must(t, "reading the credentials", err)
	if credentials.Server != cluster.Endpoint {
		t.Fatalf("the credentials' server is %q, want the endpoint %q", credentials.Server, cluster.Endpoint)
	}
	if credentials.Token == "" && len(credentials.ClientCertificateData) == 0 {
		t.Fatalf("the credentials carry neither a token nor a client certificate")
	}
	if len(credentials.CertificateAuthorityData) == 0 {
		t.Fatalf("the credentials carry no certificate authority")
	}
	if until := time.Until(credentials.ExpiresAt); until <= 0 || until > time.Duration(expiry+60)*time.Second {
		t.Fatalf("the credentials expire at %s, want within %ds", credentials.ExpiresAt, expiry)
	}

	_, err = client.Kubernetes.DeleteNodePool(ctx, cluster.ID, extra.ID)
	must(t, "deleting the extra pool", err)
	waitGone(t, "the extra pool", func() (*godo.Response, error) {
		_, resp, err := client.Kubernetes.GetNodePool(ctx, cluster.ID, extra.ID)
		return resp, err
	})
	pools, _, err = client.Kubernetes.ListNodePools(ctx, cluster.ID, nil)
	must(t, "listing the pools after the delete", err)
	if names := poolNames(pools); !slices.Equal(names, []string{"default"}) {
		t.Fatalf("after deleting the extra pool the pools are %v, want [default]", names)
	}

	_, err = client.Kubernetes.Delete(ctx, cluster.ID)
	must(t, "deleting the cluster", err)
	waitGone(t, "the cluster", func() (*godo.Response, error) {
		_, resp, err := client.Kubernetes.Get(ctx, cluster.ID)
		return resp, err
	})

	_, err = client.VPCs.Delete(ctx, vpc.ID)
	must(t, "deleting the VPC once the cluster is gone", err)
	_, _, err = client.VPCs.Get(ctx, vpc.ID)
	expectStatus(t, "reading the deleted VPC", err, http.StatusNotFound)
}

func waitClusterRunning(t *testing.T, ctx context.Context, client *godo.Client, id string) {
	t.Helper()
	eventually(t, "the cluster to run", func() (bool, string, error) {
		cluster, _, err := client.Kubernetes.Get(ctx, id)
		if err != nil {
			return false, "", err
		}
		if cluster.Status == nil {
			return false, "no status", nil
		}
		if cluster.Status.State == godo.KubernetesClusterStatusError {
			return false, "", fmt.Errorf("the cluster failed: %s", cluster.Status.Message)
		}
		return cluster.Status.State == godo.KubernetesClusterStatusRunning, string(cluster.Status.State), nil
	})
}

func waitPoolRunning(t *testing.T, ctx context.Context, client *godo.Client, clusterID, poolID string, count int) {
	t.Helper()
	eventually(t, fmt.Sprintf("pool %s to run %d nodes", poolID, count), func() (bool, string, error) {
		pool, _, err := client.Kubernetes.GetNodePool(ctx, clusterID, poolID)
		if err != nil {
			return false, "", err
		}
		states := nodeStates(pool)
		running := len(states) == count
		for _, state := range states {
			running = running && state == "running"
		}
		return running, fmt.Sprintf("nodes %v", states), nil
	})
	pool, _, err := client.Kubernetes.GetNodePool(ctx, clusterID, poolID)
	must(t, "reading pool "+poolID, err)
	checkNodes(t, "pool "+pool.Name, pool, count)
}

func nodeStates(pool *godo.KubernetesNodePool) []string {
	var states []string
	for _, node := range pool.Nodes {
		state := "no status"
		if node.Status != nil {
			state = node.Status.State
		}
		states = append(states, state)
	}
	return states
}

func checkNodes(t *testing.T, what string, pool *godo.KubernetesNodePool, count int) {
	t.Helper()
	if pool.Count != count || len(pool.Nodes) != count {
		t.Fatalf("%s has count %d and %d nodes, want %d", what, pool.Count, len(pool.Nodes), count)
	}
	for _, node := range pool.Nodes {
		if node.ID == "" || node.Name == "" || node.Status == nil || node.Status.State != "running" {
			t.Fatalf("%s has node %+v (status %+v), want a named, running node", what, node, node.Status)
		}
	}
}

func poolNames(pools []*godo.KubernetesNodePool) []string {
	var names []string
	for _, pool := range pools {
		names = append(names, pool.Name)
	}
	sort.Strings(names)
	return names
}

// webStackLifecycle: a droplet with an attached volume, a firewall, a custom certificate, an HTTPS load
// balancer in front of the droplet, all assigned to a project, then everything deleted again.
func webStackLifecycle(t *testing.T, client *godo.Client) {
	ctx := testContext(t)

	droplet, resp, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name:   "lifecycle-web",
		Region: region,
		Size:   "s-1vcpu-1gb",
		Image:  godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
		Tags:   []string{"lifecycle-web"},
	})
	must(t, "creating the droplet", err)
	dropletID := droplet.ID
	cleanup(t, "droplet", func(ctx context.Context) (*godo.Response, error) { return client.Droplets.Delete(ctx, dropletID) })
	cleanup(t, "tag lifecycle-web", func(ctx context.Context) (*godo.Response, error) {
		return client.Tags.Delete(ctx, "lifecycle-web")
	})
	if droplet.Status != "new" {
		t.Fatalf("a new droplet's status is %q, want \"new\"", droplet.Status)
	}
	if resp.Links == nil || len(resp.Links.Actions) == 0 {
		t.Fatalf("creating a droplet returned no links.actions")
	}
	waitAction(t, ctx, client, "the droplet's create", resp.Links.Actions[0].ID)
	eventually(t, "the droplet to be active", func() (bool, string, error) {
		d, _, err := client.Droplets.Get(ctx, dropletID)
		if err != nil {
			return false, "", err
		}
		return d.Status == "active", d.Status, nil
	})
	droplet, _, err = client.Droplets.Get(ctx, dropletID)
	must(t, "reading the droplet", err)
	if ip, err := droplet.PublicIPv4(); err != nil || ip == "" {
		t.Fatalf("the active droplet has no public IPv4 (%v)", err)
	}

	volume, _, err := client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{
		Region:         region,
		Name:           "lifecycle-data",
		Description:    "godo lifecycle test",
		SizeGigaBytes:  10,
		FilesystemType: "ext4",
	})
	must(t, "creating the volume", err)
	volumeID := volume.ID
	cleanup(t, "volume", func(ctx context.Context) (*godo.Response, error) { return client.Storage.DeleteVolume(ctx, volumeID) })
	if volume.SizeGigaBytes != 10 || volume.Region == nil || volume.Region.Slug != region {
		t.Fatalf("the created volume is %+v", volume)
	}

	attach, _, err := client.StorageActions.Attach(ctx, volumeID, dropletID)
	must(t, "attaching the volume", err)
	eventually(t, "the attach action to complete (volume actions)", func() (bool, string, error) {
		action, _, err := client.StorageActions.Get(ctx, volumeID, attach.ID)
		if err != nil {
			return false, "", err
		}
		return action.Status == godo.ActionCompleted, action.Status, nil
	})
	waitAction(t, ctx, client, "the attach", attach.ID)
	volume, _, err = client.Storage.GetVolume(ctx, volumeID)
	must(t, "reading the attached volume", err)
	if !slices.Equal(volume.DropletIDs, []int{dropletID}) {
		t.Fatalf("the attached volume lists droplets %v, want [%d]", volume.DropletIDs, dropletID)
	}
	droplet, _, err = client.Droplets.Get(ctx, dropletID)
	must(t, "reading the droplet after the attach", err)
	if !slices.Contains(droplet.VolumeIDs, volumeID) {
		t.Fatalf("the droplet lists volumes %v, want %s among them", droplet.VolumeIDs, volumeID)
	}

	firewall, _, err := client.Firewalls.Create(ctx, &godo.FirewallRequest{
		Name: "lifecycle-web",
		InboundRules: []godo.InboundRule{
			{Protocol: "tcp", PortRange: "443", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0", "::/0"}}},
			{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{DropletIDs: []int{dropletID}}},
		},
		OutboundRules: []godo.OutboundRule{
			{Protocol: "tcp", PortRange: "all", Destinations: &godo.Destinations{Addresses: []string{"0.0.0.0/0", "::/0"}}},
		},
		DropletIDs: []int{dropletID},
	})
	must(t, "creating the firewall", err)
	firewallID := firewall.ID
	cleanup(t, "firewall", func(ctx context.Context) (*godo.Response, error) { return client.Firewalls.Delete(ctx, firewallID) })
	if len(firewall.InboundRules) != 2 || !slices.Equal(firewall.DropletIDs, []int{dropletID}) {
		t.Fatalf("the created firewall has %d inbound rules and droplets %v", len(firewall.InboundRules), firewall.DropletIDs)
	}
	if sources := firewall.InboundRules[1].Sources; sources == nil || !slices.Equal(sources.DropletIDs, []int{dropletID}) {
		t.Fatalf("the SSH rule's sources are %+v, want droplet %d", sources, dropletID)
	}
	eventually(t, "the firewall to apply", func() (bool, string, error) {
		f, _, err := client.Firewalls.Get(ctx, firewallID)
		if err != nil {
			return false, "", err
		}
		return f.Status == "succeeded", f.Status, nil
	})

	leaf, key, fingerprint := selfSignedCertificate(t, "lifecycle.example.test")
	certificate, _, err := client.Certificates.Create(ctx, &godo.CertificateRequest{
		Name:            "lifecycle-cert",
		Type:            "custom",
		PrivateKey:      key,
		LeafCertificate: leaf,
	})
	must(t, "uploading the certificate", err)
	certificateID := certificate.ID
	cleanup(t, "certificate", func(ctx context.Context) (*godo.Response, error) {
		return client.Certificates.Delete(ctx, certificateID)
	})
	if certificate.State != "verified" || certificate.Type != "custom" || certificate.SHA1Fingerprint != fingerprint ||
		!slices.Equal(certificate.DNSNames, []string{"lifecycle.example.test"}) {
		t.Fatalf("the uploaded certificate is %+v, want verified, custom, fingerprint %s", certificate, fingerprint)
	}

	balancer, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name:     "lifecycle-lb",
		Region:   region,
		SizeUnit: 1,
		ForwardingRules: []godo.ForwardingRule{{
			EntryProtocol:  "https",
			EntryPort:      443,
			TargetProtocol: "http",
			TargetPort:     80,
			CertificateID:  certificateID,
		}},
		HealthCheck: &godo.HealthCheck{
			Protocol:               "http",
			Port:                   80,
			Path:                   "/healthz",
			CheckIntervalSeconds:   10,
			ResponseTimeoutSeconds: 5,
			HealthyThreshold:       3,
			UnhealthyThreshold:     3,
		},
		DropletIDs:          []int{dropletID},
		RedirectHttpToHttps: true,
	})
	must(t, "creating the load balancer", err)
	balancerID := balancer.ID
	cleanup(t, "load balancer", func(ctx context.Context) (*godo.Response, error) {
		return client.LoadBalancers.Delete(ctx, balancerID)
	})
	if balancer.Status != "new" {
		t.Fatalf("a new load balancer's status is %q, want \"new\"", balancer.Status)
	}
	eventually(t, "the load balancer to be active", func() (bool, string, error) {
		lb, _, err := client.LoadBalancers.Get(ctx, balancerID)
		if err != nil {
			return false, "", err
		}
		return lb.Status == "active", lb.Status, nil
	})
	balancer, _, err = client.LoadBalancers.Get(ctx, balancerID)
	must(t, "reading the active load balancer", err)
	if balancer.IP == "" || !slices.Equal(balancer.DropletIDs, []int{dropletID}) || len(balancer.ForwardingRules) != 1 ||
		balancer.ForwardingRules[0].CertificateID != certificateID || !balancer.RedirectHttpToHttps {
		t.Fatalf("the active load balancer is %+v", balancer)
	}
	if balancer.HealthCheck == nil || balancer.HealthCheck.Path != "/healthz" {
		t.Fatalf("the load balancer's health check is %+v, want path /healthz", balancer.HealthCheck)
	}
	// A certificate in use cannot go.
	_, err = client.Certificates.Delete(ctx, certificateID)
	if err == nil {
		t.Fatalf("deleting a certificate a load balancer uses succeeded")
	}
	apiError(t, "deleting a certificate in use", err)

	project, _, err := client.Projects.Create(ctx, &godo.CreateProjectRequest{
		Name:        "lifecycle",
		Description: "godo lifecycle test",
		Purpose:     "Web Application",
		Environment: "Development",
	})
	must(t, "creating the project", err)
	projectID := project.ID
	cleanup(t, "project", func(ctx context.Context) (*godo.Response, error) { return client.Projects.Delete(ctx, projectID) })
	if project.IsDefault || project.Name != "lifecycle" {
		t.Fatalf("the created project is %+v", project)
	}
	urns := []string{droplet.URN(), volume.URN(), balancer.URN()}
	assigned, _, err := client.Projects.AssignResources(ctx, projectID, droplet, volume, balancer)
	must(t, "assigning resources to the project", err)
	if got := resourceURNs(assigned); !slices.Equal(got, sorted(urns)) {
		t.Fatalf("assigned %v, want %v", got, sorted(urns))
	}
	resources := listAll(t, "project resources", 2, func(opt *godo.ListOptions) ([]godo.ProjectResource, *godo.Response, error) {
		return client.Projects.ListResources(ctx, projectID, opt)
	})
	if got := resourceURNs(resources); !slices.Equal(got, sorted(urns)) {
		t.Fatalf("the project holds %v, want %v", got, sorted(urns))
	}

	detach, _, err := client.StorageActions.DetachByDropletID(ctx, volumeID, dropletID)
	must(t, "detaching the volume", err)
	waitAction(t, ctx, client, "the detach", detach.ID)
	volume, _, err = client.Storage.GetVolume(ctx, volumeID)
	must(t, "reading the detached volume", err)
	if len(volume.DropletIDs) != 0 {
		t.Fatalf("the detached volume still lists droplets %v", volume.DropletIDs)
	}

	_, err = client.LoadBalancers.Delete(ctx, balancerID)
	must(t, "deleting the load balancer", err)
	waitGone(t, "the load balancer", func() (*godo.Response, error) {
		_, resp, err := client.LoadBalancers.Get(ctx, balancerID)
		return resp, err
	})
	_, err = client.Certificates.Delete(ctx, certificateID)
	must(t, "deleting the certificate", err)
	_, err = client.Firewalls.Delete(ctx, firewallID)
	must(t, "deleting the firewall", err)
	_, err = client.Droplets.Delete(ctx, dropletID)
	must(t, "deleting the droplet", err)
	waitGone(t, "the droplet", func() (*godo.Response, error) {
		_, resp, err := client.Droplets.Get(ctx, dropletID)
		return resp, err
	})
	_, err = client.Storage.DeleteVolume(ctx, volumeID)
	must(t, "deleting the volume", err)
	waitGone(t, "the volume", func() (*godo.Response, error) {
		_, resp, err := client.Storage.GetVolume(ctx, volumeID)
		return resp, err
	})
	resources = listAll(t, "project resources after the deletes", 20, func(opt *godo.ListOptions) ([]godo.ProjectResource, *godo.Response, error) {
		return client.Projects.ListResources(ctx, projectID, opt)
	})
	if len(resources) != 0 {
		t.Fatalf("the project still holds %v after its resources were deleted", resourceURNs(resources))
	}
	_, err = client.Projects.Delete(ctx, projectID)
	must(t, "deleting the project", err)
	_, err = client.Tags.Delete(ctx, "lifecycle-web")
	must(t, "deleting the droplet's tag", err)
}

// selfSignedCertificate returns a PEM certificate for host, its PKCS #8 PEM key, and the certificate's SHA-1
// fingerprint as DigitalOcean shows it (hex of the DER).
func selfSignedCertificate(t *testing.T, host string) (string, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, "generating a key", err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	must(t, "generating a serial number", err)
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"wildside-tofu lifecycle test"}},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	must(t, "signing the certificate", err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, "encoding the key", err)
	leaf := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	sum := sha1.Sum(der)
	return string(leaf), string(keyPEM), hex.EncodeToString(sum[:])
}

func resourceURNs(resources []godo.ProjectResource) []string {
	var urns []string
	for _, resource := range resources {
		urns = append(urns, resource.URN)
	}
	return sorted(urns)
}

func sorted(items []string) []string {
	out := slices.Clone(items)
	sort.Strings(out)
	return out
}

// sandboxIsEmpty checks that the scenarios left nothing behind: a region's default VPC and the default
// project may remain, nothing else.
func sandboxIsEmpty(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	var leftovers []string
	count := func(kind string, n int) {
		if n != 0 {
			leftovers = append(leftovers, fmt.Sprintf("%d %s", n, kind))
		}
	}
	droplets := listAll(t, "droplets", 200, func(opt *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return client.Droplets.List(ctx, opt)
	})
	count("droplets", len(droplets))
	volumes := listAll(t, "volumes", 200, func(opt *godo.ListOptions) ([]godo.Volume, *godo.Response, error) {
		return client.Storage.ListVolumes(ctx, &godo.ListVolumeParams{ListOptions: opt})
	})
	count("volumes", len(volumes))
	clusters := listAll(t, "clusters", 200, func(opt *godo.ListOptions) ([]*godo.KubernetesCluster, *godo.Response, error) {
		return client.Kubernetes.List(ctx, opt)
	})
	count("clusters", len(clusters))
	balancers := listAll(t, "load balancers", 200, func(opt *godo.ListOptions) ([]godo.LoadBalancer, *godo.Response, error) {
		return client.LoadBalancers.List(ctx, opt)
	})
	count("load balancers", len(balancers))
	firewalls := listAll(t, "firewalls", 200, func(opt *godo.ListOptions) ([]godo.Firewall, *godo.Response, error) {
		return client.Firewalls.List(ctx, opt)
	})
	count("firewalls", len(firewalls))
	certificates := listAll(t, "certificates", 200, func(opt *godo.ListOptions) ([]godo.Certificate, *godo.Response, error) {
		return client.Certificates.List(ctx, opt)
	})
	count("certificates", len(certificates))
	vpcs := listAll(t, "VPCs", 200, func(opt *godo.ListOptions) ([]*godo.VPC, *godo.Response, error) {
		return client.VPCs.List(ctx, opt)
	})
	nonDefault := 0
	for _, vpc := range vpcs {
		if !vpc.Default {
			nonDefault++
		}
	}
	count("non-default VPCs", nonDefault)
	projects := listAll(t, "projects", 200, func(opt *godo.ListOptions) ([]godo.Project, *godo.Response, error) {
		return client.Projects.List(ctx, opt)
	})
	nonDefault = 0
	for _, project := range projects {
		if !project.IsDefault {
			nonDefault++
		}
	}
	count("non-default projects", nonDefault)
	tags := listAll(t, "tags", 200, func(opt *godo.ListOptions) ([]godo.Tag, *godo.Response, error) {
		return client.Tags.List(ctx, opt)
	})
	count("tags", len(tags))
	keys := listAll(t, "SSH keys", 200, func(opt *godo.ListOptions) ([]godo.Key, *godo.Response, error) {
		return client.Keys.List(ctx, opt)
	})
	count("SSH keys", len(keys))
	// godo's snapshot lists keep no meta, so one page of the most is read instead of every page.
	snapshots, _, err := client.Snapshots.List(ctx, &godo.ListOptions{PerPage: 200})
	must(t, "listing snapshots", err)
	count("snapshots", len(snapshots))
	domains := listAll(t, "domains", 200, func(opt *godo.ListOptions) ([]godo.Domain, *godo.Response, error) {
		return client.Domains.List(ctx, opt)
	})
	count("domains", len(domains))
	if len(leftovers) != 0 {
		t.Fatalf("the sandbox is not empty: %s", strings.Join(leftovers, ", "))
	}
}

package godo_lifecycle

// The behaviours a provider relies on beyond the plain lifecycles: each function checks one of them the way
// godo's users meet it, and leaves nothing behind.

import (
	"context"
	"fmt"
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

// sshKeys creates a key, finds it by id and by fingerprint, names it in a droplet, renames and deletes it.
// The fingerprint is the MD5 of the key blob, worked out beforehand.
func sshKeys(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f godo@example"
	const fingerprint = "0f:a2:0a:d7:38:3e:65:45:08:6b:63:84:1c:ff:dc:ba"
	key, _, err := client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "godo", PublicKey: publicKey})
	must(t, "creating an SSH key", err)
	cleanup(t, "ssh key", func(ctx context.Context) (*godo.Response, error) { return client.Keys.DeleteByID(ctx, key.ID) })
	if key.Fingerprint != fingerprint {
		t.Fatalf("the key's fingerprint is %q, want %q", key.Fingerprint, fingerprint)
	}
	found, _, err := client.Keys.GetByFingerprint(ctx, fingerprint)
	must(t, "reading the key by fingerprint", err)
	if found.ID != key.ID {
		t.Fatalf("the fingerprint finds key %d, want %d", found.ID, key.ID)
	}
	_, _, err = client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "again", PublicKey: publicKey})
	expectStatus(t, "adding the same key again", err, http.StatusUnprocessableEntity)
	droplet, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "keyed", Region: region, Size: "s-1vcpu-1gb",
		Image:   godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
		SSHKeys: []godo.DropletCreateSSHKey{{ID: key.ID}, {Fingerprint: fingerprint}},
	})
	must(t, "creating a droplet with the key", err)
	_, err = client.Droplets.Delete(ctx, droplet.ID)
	must(t, "deleting the droplet", err)
	renamed, _, err := client.Keys.UpdateByID(ctx, key.ID, &godo.KeyUpdateRequest{Name: "godo-renamed"})
	must(t, "renaming the key", err)
	if renamed.Name != "godo-renamed" {
		t.Fatalf("the key reads back named %q", renamed.Name)
	}
	_, err = client.Keys.DeleteByFingerprint(ctx, fingerprint)
	must(t, "deleting the key by fingerprint", err)
	_, _, err = client.Keys.GetByID(ctx, key.ID)
	expectStatus(t, "reading the deleted key", err, http.StatusNotFound)
}

// imageBySlug reads a distribution image by slug and by id, and lists distribution images.
func imageBySlug(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	image, _, err := client.Images.GetBySlug(ctx, "ubuntu-22-04-x64")
	must(t, "reading an image by slug", err)
	byID, _, err := client.Images.GetByID(ctx, image.ID)
	must(t, "reading the image by id", err)
	if byID.Slug != "ubuntu-22-04-x64" || image.Type != "base" {
		t.Fatalf("the image reads back as %+v", byID)
	}
	images, _, err := client.Images.ListDistribution(ctx, &godo.ListOptions{PerPage: 200})
	must(t, "listing distribution images", err)
	if len(images) == 0 {
		t.Fatal("no distribution images are listed")
	}
	_, _, err = client.Images.GetBySlug(ctx, "no-such-image")
	expectStatus(t, "reading an unknown slug", err, http.StatusNotFound)
}

// dropletSnapshotsAndBackups changes a droplet's backup policy, snapshots it, and finds and deletes the snapshot
// as the provider does: among the droplet's snapshots by the action's start time.
func dropletSnapshotsAndBackups(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	droplet, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "snapped", Region: region, Size: "s-1vcpu-1gb", Backups: true,
		Image: godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
	})
	must(t, "creating a droplet with backups", err)
	cleanup(t, "droplet snapped", func(ctx context.Context) (*godo.Response, error) { return client.Droplets.Delete(ctx, droplet.ID) })
	hour := 8
	action, _, err := client.DropletActions.ChangeBackupPolicy(ctx, droplet.ID, &godo.DropletBackupPolicyRequest{Plan: "daily", Hour: &hour})
	must(t, "changing the backup policy", err)
	waitAction(t, ctx, client, "changing the backup policy", action.ID)
	policy, _, err := client.Droplets.GetBackupPolicy(ctx, droplet.ID)
	must(t, "reading the backup policy", err)
	if !policy.BackupEnabled || policy.BackupPolicy == nil || policy.BackupPolicy.Plan != "daily" || policy.BackupPolicy.Hour != 8 {
		t.Fatalf("the backup policy reads back as %+v", policy)
	}
	action, _, err = client.DropletActions.Snapshot(ctx, droplet.ID, "snapped-1")
	must(t, "snapshotting the droplet", err)
	waitAction(t, ctx, client, "the snapshot", action.ID)
	snapshots, _, err := client.Droplets.Snapshots(ctx, droplet.ID, nil)
	must(t, "listing the droplet's snapshots", err)
	if len(snapshots) != 1 || snapshots[0].Name != "snapped-1" || snapshots[0].Created != action.StartedAt.Format("2006-01-02T15:04:05Z") {
		t.Fatalf("the droplet's snapshots are %+v, want snapped-1 made at %s", snapshots, action.StartedAt)
	}
	id := fmt.Sprint(snapshots[0].ID)
	cleanup(t, "snapshot "+id, func(ctx context.Context) (*godo.Response, error) { return client.Snapshots.Delete(ctx, id) })
	snapshot, _, err := client.Snapshots.Get(ctx, id)
	must(t, "reading the snapshot", err)
	if snapshot.ResourceType != "droplet" || snapshot.ResourceID != fmt.Sprint(droplet.ID) {
		t.Fatalf("the snapshot reads back as %+v", snapshot)
	}
	listed, _, err := client.Snapshots.ListDroplet(ctx, nil)
	must(t, "listing droplet snapshots", err)
	if len(listed) != 1 {
		t.Fatalf("%d droplet snapshots are listed, want 1", len(listed))
	}
	_, err = client.Droplets.Delete(ctx, droplet.ID)
	must(t, "deleting the droplet", err)
	_, err = client.Snapshots.Delete(ctx, id)
	must(t, "deleting the snapshot", err)
	_, _, err = client.Snapshots.Get(ctx, id)
	expectStatus(t, "reading the deleted snapshot", err, http.StatusNotFound)
}

// resizeDiskAndIPv6 resizes a droplet with its disk and checks the new disk, memory and vCPUs, and that an
// IPv6 droplet has a public IPv6 address.
func resizeDiskAndIPv6(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	droplet, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "resized", Region: region, Size: "s-1vcpu-1gb", IPv6: true,
		Image: godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
	})
	must(t, "creating an IPv6 droplet", err)
	cleanup(t, "droplet resized", func(ctx context.Context) (*godo.Response, error) { return client.Droplets.Delete(ctx, droplet.ID) })
	read, _, err := client.Droplets.Get(ctx, droplet.ID)
	must(t, "reading the droplet", err)
	if address, err := read.PublicIPv6(); err != nil || address == "" {
		t.Fatalf("the IPv6 droplet has no public IPv6 address (%v): %+v", err, read.Networks)
	}
	action, _, err := client.DropletActions.PowerOff(ctx, droplet.ID)
	must(t, "powering the droplet off", err)
	waitAction(t, ctx, client, "powering off", action.ID)
	action, _, err = client.DropletActions.Resize(ctx, droplet.ID, "s-2vcpu-4gb", true)
	must(t, "resizing the droplet with its disk", err)
	waitAction(t, ctx, client, "the resize", action.ID)
	read, _, err = client.Droplets.Get(ctx, droplet.ID)
	must(t, "reading the resized droplet", err)
	if read.Disk != 80 || read.Memory != 4096 || read.Vcpus != 2 {
		t.Fatalf("the resized droplet has disk %d, memory %d, vcpus %d; want 80, 4096, 2", read.Disk, read.Memory, read.Vcpus)
	}
	_, err = client.Droplets.Delete(ctx, droplet.ID)
	must(t, "deleting the droplet", err)
}

// volumeSnapshots snapshots a volume, makes a volume from the snapshot, and deletes all three.
func volumeSnapshots(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	volume, _, err := client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "snapped", Region: region, SizeGigaBytes: 10})
	must(t, "creating a volume", err)
	cleanup(t, "volume snapped", func(ctx context.Context) (*godo.Response, error) { return client.Storage.DeleteVolume(ctx, volume.ID) })
	snapshot, _, err := client.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: volume.ID, Name: "snapped-1"})
	must(t, "snapshotting the volume", err)
	cleanup(t, "volume snapshot", func(ctx context.Context) (*godo.Response, error) { return client.Snapshots.Delete(ctx, snapshot.ID) })
	listed, _, err := client.Storage.ListSnapshots(ctx, volume.ID, nil)
	must(t, "listing the volume's snapshots", err)
	if len(listed) != 1 || listed[0].ID != snapshot.ID || listed[0].MinDiskSize != 10 {
		t.Fatalf("the volume's snapshots are %+v", listed)
	}
	restored, _, err := client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "restored", Region: region, SizeGigaBytes: 10, SnapshotID: snapshot.ID})
	must(t, "creating a volume from the snapshot", err)
	_, err = client.Storage.DeleteVolume(ctx, restored.ID)
	must(t, "deleting the restored volume", err)
	_, err = client.Storage.DeleteVolume(ctx, volume.ID)
	must(t, "deleting the volume", err)
	read, _, err := client.Snapshots.Get(ctx, snapshot.ID)
	must(t, "reading the snapshot after its volume went", err)
	if read.ResourceType != "volume" {
		t.Fatalf("the snapshot reads back as %+v", read)
	}
	_, err = client.Storage.DeleteSnapshot(ctx, snapshot.ID)
	must(t, "deleting the snapshot", err)
	_, _, err = client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "orphan", Region: region, SizeGigaBytes: 10, SnapshotID: snapshot.ID})
	expectStatus(t, "creating a volume from a deleted snapshot", err, http.StatusUnprocessableEntity)
}

// domainsAndRecords creates a domain, finds its SOA and NS records, adds, edits and deletes records, and
// deletes the domain.
func domainsAndRecords(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	domain, _, err := client.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "godo.example.com"})
	must(t, "creating a domain", err)
	cleanup(t, "domain", func(ctx context.Context) (*godo.Response, error) { return client.Domains.Delete(ctx, domain.Name) })
	records, _, err := client.Domains.Records(ctx, domain.Name, nil)
	must(t, "listing the records", err)
	types := map[string]int{}
	for _, record := range records {
		types[record.Type]++
	}
	if types["SOA"] != 1 || types["NS"] != 3 || len(records) != 4 {
		t.Fatalf("a new domain has records %+v, want an SOA and three NS", records)
	}
	record, _, err := client.Domains.CreateRecord(ctx, domain.Name, &godo.DomainRecordEditRequest{Type: "CNAME", Name: "www", Data: "app.godo.example.com.", TTL: 300})
	must(t, "creating a CNAME record", err)
	if record.Data != "app.godo.example.com" || record.TTL != 300 {
		t.Fatalf("the CNAME reads back as %+v", record)
	}
	_, _, err = client.Domains.CreateRecord(ctx, domain.Name, &godo.DomainRecordEditRequest{Type: "A", Name: "www", Data: "192.0.2.1"})
	expectStatus(t, "an A record beside the CNAME", err, http.StatusUnprocessableEntity)
	_, _, err = client.Domains.CreateRecord(ctx, domain.Name, &godo.DomainRecordEditRequest{Type: "MX", Name: "@", Data: "mail.godo.example.com.", Priority: 10})
	must(t, "creating an MX record", err)
	edited, _, err := client.Domains.EditRecord(ctx, domain.Name, record.ID, &godo.DomainRecordEditRequest{Type: "CNAME", Name: "www", Data: "other.godo.example.com.", TTL: 600})
	must(t, "editing the CNAME", err)
	if edited.Data != "other.godo.example.com" || edited.TTL != 600 {
		t.Fatalf("the edited CNAME reads back as %+v", edited)
	}
	found, _, err := client.Domains.RecordsByTypeAndName(ctx, domain.Name, "CNAME", "www.godo.example.com", nil)
	must(t, "finding the CNAME by type and name", err)
	if len(found) != 1 || found[0].ID != record.ID {
		t.Fatalf("finding the CNAME gave %+v", found)
	}
	_, err = client.Domains.DeleteRecord(ctx, domain.Name, record.ID)
	must(t, "deleting the CNAME", err)
	_, err = client.Domains.Delete(ctx, domain.Name)
	must(t, "deleting the domain", err)
	_, _, err = client.Domains.Get(ctx, domain.Name)
	expectStatus(t, "reading the deleted domain", err, http.StatusNotFound)
}

// subnetWorkers creates a VPC subnet (the paths godo calls, which DigitalOcean's OpenAPI description does not
// document yet), places a cluster's isolated workers in it with the routing agent on, reads all of it back,
// and deletes cluster, subnet and VPC.
func subnetWorkers(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	vpc, _, err := client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "subnetted", RegionSlug: region, IPRange: "10.50.0.0/16"})
	must(t, "creating a VPC", err)
	cleanup(t, "vpc subnetted", func(ctx context.Context) (*godo.Response, error) { return client.VPCs.Delete(ctx, vpc.ID) })
	subnet, _, err := client.VPCs.CreateSubnet(ctx, vpc.ID, &godo.VPCSubnetCreateRequest{Name: "workers", IPRange: "10.50.4.0/22"})
	must(t, "creating a subnet", err)
	cleanup(t, "subnet workers", func(ctx context.Context) (*godo.Response, error) {
		return client.VPCs.DeleteSubnet(ctx, vpc.ID, subnet.ID)
	})
	if subnet.VPCID != vpc.ID || subnet.IPRange != "10.50.4.0/22" {
		t.Fatalf("the subnet reads back as %+v", subnet)
	}
	_, _, err = client.VPCs.CreateSubnet(ctx, vpc.ID, &godo.VPCSubnetCreateRequest{Name: "overlap", IPRange: "10.50.5.0/24"})
	expectStatus(t, "an overlapping subnet", err, http.StatusUnprocessableEntity)
	enabled := true
	cluster, _, err := client.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{
		Name: "isolated", RegionSlug: region, VersionSlug: "1.33.1-do.2", VPCUUID: vpc.ID,
		WorkerSubnetUUID: subnet.ID, IsolatedWorkers: true,
		RoutingAgent: &godo.KubernetesRoutingAgent{Enabled: &enabled},
		NodePools:    []*godo.KubernetesNodePoolCreateRequest{{Name: "default", Size: "s-1vcpu-2gb", Count: 1}},
	})
	must(t, "creating a cluster in the subnet", err)
	cleanup(t, "cluster isolated", func(ctx context.Context) (*godo.Response, error) { return client.Kubernetes.Delete(ctx, cluster.ID) })
	read, _, err := client.Kubernetes.Get(ctx, cluster.ID)
	must(t, "reading the cluster", err)
	if read.WorkerSubnetUUID != subnet.ID || !read.IsolatedWorkers || read.RoutingAgent == nil || read.RoutingAgent.Enabled == nil || !*read.RoutingAgent.Enabled {
		t.Fatalf("the cluster reads back worker subnet %q, isolated %v, routing agent %+v", read.WorkerSubnetUUID, read.IsolatedWorkers, read.RoutingAgent)
	}
	_, err = client.VPCs.DeleteSubnet(ctx, vpc.ID, subnet.ID)
	expectStatus(t, "deleting the subnet the workers are in", err, http.StatusUnprocessableEntity)
	_, err = client.Kubernetes.Delete(ctx, cluster.ID)
	must(t, "deleting the cluster", err)
	_, err = client.VPCs.DeleteSubnet(ctx, vpc.ID, subnet.ID)
	must(t, "deleting the subnet", err)
	_, err = client.VPCs.Delete(ctx, vpc.ID)
	must(t, "deleting the VPC", err)
}

// globalLoadBalancer puts a global load balancer, which forwards by its settings and has no forwarding
// rules, in front of a dual-stack regional one whose health check names only its protocol and port: the
// regional one reads back an IPv6 address and the documented defaults for the rest of its health check, the
// global one its settings, domain and target, and no rules.
func globalLoadBalancer(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	regional, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "behind-global", Region: region, SizeUnit: 1, NetworkStack: godo.LoadBalancerNetworkStackDualstack,
		HealthCheck: &godo.HealthCheck{Protocol: "tcp", Port: 22},
		ForwardingRules: []godo.ForwardingRule{{
			EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80,
		}},
	})
	must(t, "creating a dual-stack load balancer", err)
	cleanup(t, "load balancer "+regional.ID, func(ctx context.Context) (*godo.Response, error) {
		return client.LoadBalancers.Delete(ctx, regional.ID)
	})
	read, _, err := client.LoadBalancers.Get(ctx, regional.ID)
	must(t, "reading the regional load balancer", err)
	if read.IPv6 == "" {
		t.Fatalf("the dual-stack load balancer has no IPv6 address: %+v", read)
	}
	if check := read.HealthCheck; check == nil || check.CheckIntervalSeconds != 10 || check.ResponseTimeoutSeconds != 5 ||
		check.UnhealthyThreshold != 5 || check.HealthyThreshold != 3 || check.Port != 22 {
		t.Fatalf("the health check reads back as %+v, want port 22 and the documented defaults", read.HealthCheck)
	}
	global, _, err := client.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "global", Type: "GLOBAL",
		GLBSettings:           &godo.GLBSettings{TargetProtocol: "http", TargetPort: 80, CDN: &godo.CDNSettings{IsEnabled: true}},
		Domains:               []*godo.LBDomain{{Name: "app.example.com"}},
		TargetLoadBalancerIDs: []string{regional.ID},
	})
	must(t, "creating a global load balancer without forwarding rules", err)
	cleanup(t, "load balancer "+global.ID, func(ctx context.Context) (*godo.Response, error) {
		return client.LoadBalancers.Delete(ctx, global.ID)
	})
	read, _, err = client.LoadBalancers.Get(ctx, global.ID)
	must(t, "reading the global load balancer", err)
	if read.Type != "GLOBAL" || len(read.ForwardingRules) != 0 || read.GLBSettings == nil || read.GLBSettings.CDN == nil ||
		!read.GLBSettings.CDN.IsEnabled || len(read.Domains) != 1 || read.Domains[0].Name != "app.example.com" ||
		len(read.TargetLoadBalancerIDs) != 1 || read.TargetLoadBalancerIDs[0] != regional.ID {
		t.Fatalf("the global load balancer reads back as %+v", read)
	}
	_, err = client.LoadBalancers.Delete(ctx, global.ID)
	must(t, "deleting the global load balancer", err)
	_, err = client.LoadBalancers.Delete(ctx, regional.ID)
	must(t, "deleting the regional load balancer", err)
}

// assignDeletedResource moves a droplet that is already gone, with a volume that is not, back to the default
// project, as the provider does while it destroys a project and its resources: the droplet is reported
// not_found and the volume is moved.
func assignDeletedResource(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	droplet, _, err := client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "short-lived", Region: region, Size: "s-1vcpu-1gb",
		Image: godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"},
	})
	must(t, "creating a droplet", err)
	volume, _, err := client.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "kept", Region: region, SizeGigaBytes: 10})
	must(t, "creating a volume", err)
	cleanup(t, "volume kept", func(ctx context.Context) (*godo.Response, error) { return client.Storage.DeleteVolume(ctx, volume.ID) })
	_, err = client.Droplets.Delete(ctx, droplet.ID)
	must(t, "deleting the droplet", err)
	waitGone(t, "the droplet", func() (*godo.Response, error) {
		_, response, err := client.Droplets.Get(ctx, droplet.ID)
		return response, err
	})
	project, _, err := client.Projects.GetDefault(ctx)
	must(t, "reading the default project", err)
	assigned, _, err := client.Projects.AssignResources(ctx, project.ID, droplet, volume)
	must(t, "moving a deleted droplet and a volume to the default project", err)
	statuses := map[string]string{}
	for _, resource := range assigned {
		statuses[resource.URN] = resource.Status
	}
	if statuses[droplet.URN()] != "not_found" || statuses[volume.URN()] != "ok" {
		t.Fatalf("the assignment reports %v, want the droplet not_found and the volume ok", statuses)
	}
	_, err = client.Storage.DeleteVolume(ctx, volume.ID)
	must(t, "deleting the volume", err)
}

// clusterUpdateWithNullAddOns updates a cluster the way the provider does, naming every add-on with a nil
// `enabled` and an empty autoscaler configuration: the cluster keeps its routing agent and has no autoscaler
// configuration.
func clusterUpdateWithNullAddOns(t *testing.T, client *godo.Client) {
	ctx := testContext(t)
	enabled := true
	cluster, _, err := client.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{
		Name: "null-add-ons", RegionSlug: region, VersionSlug: "1.33.1-do.2",
		RoutingAgent: &godo.KubernetesRoutingAgent{Enabled: &enabled},
		NodePools:    []*godo.KubernetesNodePoolCreateRequest{{Name: "default", Size: "s-1vcpu-2gb", Count: 1}},
	})
	must(t, "creating a cluster with the routing agent", err)
	cleanup(t, "cluster null-add-ons", func(ctx context.Context) (*godo.Response, error) { return client.Kubernetes.Delete(ctx, cluster.ID) })
	_, _, err = client.Kubernetes.Update(ctx, cluster.ID, &godo.KubernetesClusterUpdateRequest{
		Name: "null-add-ons", SurgeUpgrade: true,
		ControlPlaneFirewall:           &godo.KubernetesControlPlaneFirewall{},
		ClusterAutoscalerConfiguration: &godo.KubernetesClusterAutoscalerConfiguration{},
		RoutingAgent:                   &godo.KubernetesRoutingAgent{},
		AmdGpuDevicePlugin:             &godo.KubernetesAmdGpuDevicePlugin{},
		NvidiaGpuDevicePlugin:          &godo.KubernetesNvidiaGpuDevicePlugin{},
		CorednsAutoscaler:              &godo.KubernetesCorednsAutoscaler{},
	})
	must(t, "updating the cluster with unset add-ons", err)
	read, _, err := client.Kubernetes.Get(ctx, cluster.ID)
	must(t, "reading the cluster", err)
	if !read.SurgeUpgrade || read.RoutingAgent == nil || read.RoutingAgent.Enabled == nil || !*read.RoutingAgent.Enabled ||
		read.ClusterAutoscalerConfiguration != nil {
		t.Fatalf("the cluster reads back surge %v, routing agent %+v, autoscaler %+v", read.SurgeUpgrade, read.RoutingAgent, read.ClusterAutoscalerConfiguration)
	}
	_, err = client.Kubernetes.Delete(ctx, cluster.ID)
	must(t, "deleting the cluster", err)
}

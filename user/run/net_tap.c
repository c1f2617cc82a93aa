// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tap: opened with IFF_VNET_HDR and virtio 1.x's 12-byte header and no
 * offloads, so that header is what virtio-net's driver puts before each
 * frame (virtio_net.c, and vhost-net's worker, which passes it through).
 * Its link, set through rtnetlink with libnl-route-3: up, and a port
 * of an existing bridge when -n names one (RTM_NEWLINK with IFF_UP and
 * IFLA_MASTER, what `ip link set TAP master BR up` sends). The bridge is
 * checked first, so a wrong name is one line and no half-made setup.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "run.h"

int net_tap_open(const struct net_opt *o, char *ifname, char *err,
		 size_t errlen)
{
	int hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "-n: cannot open /dev/net/tun: %s%s",
			 strerror(errno), errno == ENOENT ?
			 " (load the tun module)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
		 o->ifname[0] ? o->ifname : "okvm%d");
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		snprintf(err, errlen, "-n: cannot create the tap %s: %s%s",
			 ifr.ifr_name, strerror(errno), errno == EPERM ?
			 " (needs CAP_NET_ADMIN, or a tap made for this user)" :
			 errno == EBUSY ? " (in use)" : "");
		close(fd);
		return -1;
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) || ioctl(fd, TUNSETOFFLOAD, 0)) {
		snprintf(err, errlen, "-n: tap %s: %s", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int net_tap_up(const char *ifname, const char *bridge, char *err,
	       size_t errlen)
{
	struct rtnl_link *link = NULL, *change = NULL, *br = NULL;
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		snprintf(err, errlen, "-n: out of memory");
		return -1;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		snprintf(err, errlen, "-n: rtnetlink: %s", nl_geterror(r));
		goto out;
	}
	if (bridge[0]) {
		r = rtnl_link_get_kernel(sk, 0, bridge, &br);
		if (r < 0) {
			snprintf(err, errlen, "-n bridge=%s: no such bridge (create it first)",
				 bridge);
			goto out;
		}
		if (!rtnl_link_get_type(br) ||
		    strcmp(rtnl_link_get_type(br), "bridge")) {
			snprintf(err, errlen, "-n bridge=%s: %s is not a bridge",
				 bridge, bridge);
			r = -1;
			goto out;
		}
	}
	r = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (r < 0) {
		snprintf(err, errlen, "-n: tap %s: %s", ifname, nl_geterror(r));
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change) {
		snprintf(err, errlen, "-n: out of memory");
		r = -1;
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (br)
		rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
	r = rtnl_link_change(sk, link, change, 0);
	if (r < 0)
		snprintf(err, errlen, "-n: cannot bring tap %s up%s%s: %s", ifname,
			 br ? " in bridge " : "", bridge, nl_geterror(r));
out:
	if (change)
		rtnl_link_put(change);
	if (link)
		rtnl_link_put(link);
	if (br)
		rtnl_link_put(br);
	nl_socket_free(sk);
	return r < 0 ? -1 : 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tap's link, set through rtnetlink with libnl-route-3: up, and a port
 * of an existing bridge when -n names one (RTM_NEWLINK with IFF_UP and
 * IFLA_MASTER, what `ip link set TAP master BR up` sends). The bridge is
 * checked first, so a wrong name is one line and no half-made setup.
 */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

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

/**
 * Customers from deposit addresses: the senders who pay into one deposit address are one
 * customer, and a customer who pays into several deposit addresses (of one exchange or of
 * several) links them all. A cluster is a connected part of that graph of senders and deposit
 * addresses (Victor 2020); every link in it is named by the transactions that prove it.
 */
import type { DepositAddress, Forward, Inflow } from "./deposits.js";

/** One link: a sender paid into a deposit address, which forwarded it to its exchange. */
export interface ClusterLink {
  sender: string;
  depositAddress: string;
  exchange: string;
  inflow: Inflow;
  forward: Omit<Forward, "inflows">;
}

export interface Cluster {
  /** The senders linked with each other (the customer's addresses), sorted. */
  members: string[];
  /** The deposit addresses they paid into, in address order. */
  depositAddresses: DepositAddress[];
  /** Every sender → deposit address → exchange link, in chain order of the inflow. */
  links: ClusterLink[];
}

/** What an address is to the heuristic, and the cluster it belongs to (empty if none). */
export interface AddressCluster {
  address: string;
  /** Its own evidence when the address is itself a deposit address, else null. */
  depositAddress: DepositAddress | null;
  cluster: Cluster;
}

/** Union-find over addresses, with path halving. */
class Components {
  private readonly parent = new Map<string, string>();
  find(a: string): string {
    let x = a;
    for (;;) {
      const p = this.parent.get(x) ?? x;
      if (p === x) return x;
      const grand = this.parent.get(p) ?? p;
      this.parent.set(x, grand);
      x = grand;
    }
  }
  union(a: string, b: string): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    // The smaller root wins: the same components for any order of unions.
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }
}

/** The links of every deposit address, in chain order of the inflow. */
function linksOf(deposit: DepositAddress): ClusterLink[] {
  return deposit.forwards.flatMap(({ inflows, ...forward }) =>
    inflows.map((inflow) => ({
      sender: inflow.from,
      depositAddress: deposit.address,
      exchange: forward.exchange,
      inflow,
      forward,
    })),
  );
}

/**
 * The clusters of `addresses` (lower-case) among the deposit addresses found: for each, in the
 * order given, whether it is a deposit address itself, and the senders and deposit addresses
 * linked with it.
 */
export function clustersOf(
  deposits: readonly DepositAddress[],
  addresses: readonly string[],
): AddressCluster[] {
  const components = new Components();
  const links = deposits.flatMap(linksOf);
  for (const l of links) components.union(l.sender, l.depositAddress);
  const byAddress = new Map(deposits.map((d) => [d.address, d]));
  const linked = (a: string) => links.some((l) => l.sender === a || l.depositAddress === a);
  return addresses.map((address) => {
    if (!linked(address))
      return {
        address,
        depositAddress: null,
        cluster: { members: [], depositAddresses: [], links: [] },
      };
    const root = components.find(address);
    const inside = links
      .filter((l) => components.find(l.depositAddress) === root)
      .sort(
        (a, b) =>
          a.inflow.blockNumber - b.inflow.blockNumber || a.inflow.ordinal - b.inflow.ordinal,
      );
    return {
      address,
      depositAddress: byAddress.get(address) ?? null,
      cluster: {
        members: [...new Set(inside.map((l) => l.sender))].sort(),
        depositAddresses: deposits.filter((d) => components.find(d.address) === root),
        links: inside,
      },
    };
  });
}

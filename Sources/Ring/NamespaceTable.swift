// The namespace table: cluster state carried by gossip beside the ring. Every change made
// through this API raises `version`; two tables merge like rings do (higher version; at
// equal versions the longer, then lexicographically greater, canonical encoding), which is
// the rule Gossip applies by default, so all nodes converge on one table.
//
// Caveat for the Peer layer: two nodes that change the table concurrently from the same
// version produce equal versions, and one change loses. Route table changes through the
// claimant (as ring changes are) to avoid that.

/// The versioned set of namespaces, sorted by name bytes.
public struct NamespaceTable: Sendable, Hashable {
    /// Most namespaces a table may hold. The table is gossiped as one value of at most about
    /// 65,000 bytes (Gossip's `ClusterStateValue.maxPayloadBytes`); 200 namespaces with
    /// 255-byte names encode to at most 56,025 bytes (280 per namespace, 25 of header and
    /// checksum), so a full table always fits.
    public static let maxNamespaces = 200

    public internal(set) var version: UInt64
    /// The namespaces, sorted by the bytes of their name.
    public internal(set) var namespaces: [Namespace]

    /// A table with the default namespace only, version 1.
    public init() {
        version = 1
        namespaces = [Namespace.standard]
    }

    /// A table from its parts; names must be distinct.
    public init(version: UInt64, namespaces: [Namespace]) throws(NamespaceError) {
        let sorted = namespaces.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for i in sorted.indices.dropFirst() where sorted[i].name == sorted[i - 1].name {
            throw .invalid(name: sorted[i].name, reason: "defined twice")
        }
        self.version = version
        self.namespaces = sorted
    }

    /// The namespace called `name`, if any.
    public func namespace(named name: String) -> Namespace? {
        namespaces.first { $0.name == name }
    }

    /// The largest N of any namespace: what the claim must space owners for.
    public var maxN: Int { namespaces.map(\.n).max() ?? Ring.defaultTargetN }

    /// This table with `namespace` added or replaced, version + 1 (unchanged if identical).
    public func upserting(_ namespace: Namespace) throws(NamespaceError) -> NamespaceTable {
        try namespace.validate()
        if self.namespace(named: namespace.name) == namespace { return self }
        if self.namespace(named: namespace.name) == nil, namespaces.count >= NamespaceTable.maxNamespaces {
            throw .invalid(name: namespace.name, reason: "too many namespaces (max \(NamespaceTable.maxNamespaces))")
        }
        var list = namespaces.filter { $0.name != namespace.name }
        list.append(namespace)
        return try NamespaceTable(version: version + 1, namespaces: list)
    }

    /// This table without `name`, version + 1 (unchanged if absent).
    public func removing(_ name: String) -> NamespaceTable {
        guard self.namespace(named: name) != nil else { return self }
        var table = self
        table.namespaces.removeAll { $0.name == name }
        table.version += 1
        return table
    }

    /// The table every node keeps of two (see the top of this file).
    public static func merge(_ a: NamespaceTable, _ b: NamespaceTable) -> NamespaceTable {
        if a.version != b.version { return a.version > b.version ? a : b }
        if a == b { return a }
        let ea = a.encode(), eb = b.encode()
        if ea.count != eb.count { return ea.count > eb.count ? a : b }
        return ea.lexicographicallyPrecedes(eb) ? b : a
    }

    /// `NamespaceTable.merge(self, other)`.
    public func merged(with other: NamespaceTable) -> NamespaceTable { NamespaceTable.merge(self, other) }
}

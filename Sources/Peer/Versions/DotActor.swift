// The actor that names this node's dots, and a fresh one whenever the store lost its
// counter lease (issue 14, docs/VERSIONS.md "Counters never repeat").
//
// A node id is reused on purpose (the default is host:port, and an operator restarts a
// wiped peer with the same --node-id), but the counters of a wiped store start again at 1.
// Under the same actor the new node's dots would repeat the old node's, and a replica
// whose context already covers (id, c) would merge the new write away as "already seen":
// an acknowledged write lost without a trace. So the actor is not the node id itself but
// the id plus an incarnation token, drawn at random when the store holds neither an actor
// nor a lease (a new or wiped data directory), and stored, fsynced, before any dot is
// issued. Nothing needs to be learned from the cluster first, so this holds when every
// other peer restarted too, or when the wiped node is the only one up.
//
// A store written before this change has a lease and no actor: its actor stays the bare
// node id, which is what its dots already name. The token is 8 characters of base32
// (40 random bits): two incarnations of one id collide with odds of 1 in 10^12.

import Storage

/// Chooses (once per store) and remembers the actor of this node's dots.
enum DotActor {
    /// The metadata name the actor is stored under.
    static let metaName: [UInt8] = Array("dot-actor".utf8)
    /// Separates the node id from the incarnation token.
    static let separator = "#"
    static let tokenLength = 8

    /// The actor stored in `store`; for a store without one, the bare `nodeID` when the
    /// store already has a counter lease (dots issued before actors existed), else a new
    /// incarnation of `nodeID`, stored with `sync: true` before it is returned.
    static func resolve(store: Store, nodeID: NodeID,
                        token: () -> String = { DotActor.randomToken() }) throws -> NodeID {
        let key = StorageKey.meta(name: metaName).encode()
        if let bytes = try store.get(key) {
            guard let actor = NodeID(validatingUTF8: bytes) else {
                throw ClientError("ERR stored dot actor is not a valid node id (\(bytes.count) bytes)")
            }
            return actor
        }
        let leaseKey = StorageKey.meta(name: StorageKey.counterLeaseName).encode()
        let actor = try store.get(leaseKey) == nil ? incarnation(of: nodeID, token: token()) : nodeID
        try store.put(key, actor.utf8, sync: true)
        return actor
    }

    /// `nodeID` + "#" + `token`, with the id cut (at a character boundary) when both would
    /// not fit the 255 bytes of an actor.
    static func incarnation(of nodeID: NodeID, token: String) -> NodeID {
        let suffix = Array((separator + token).utf8)
        var id = nodeID.utf8
        let room = VersionFormat.maxNodeIDBytes - suffix.count
        if id.count > room {
            id = Array(id.prefix(room))
            // Drop a split character's leading and continuation bytes.
            while let last = id.last, last & 0x80 != 0 {
                let isLead = last & 0xc0 == 0xc0
                id.removeLast()
                if isLead { break }
            }
        }
        // Both parts are valid UTF-8 of bounded length, so this cannot fail; the bare id
        // (never reached) would only lose the fresh incarnation, not crash the node.
        return NodeID(validatingUTF8: id + suffix) ?? nodeID
    }

    /// 8 characters of RFC 4648 base32 (lowercase) from the system's random source.
    static func randomToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var g = SystemRandomNumberGenerator()
        var bits = g.next() as UInt64
        var out: [UInt8] = []
        for _ in 0..<tokenLength {
            out.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        return String(decoding: out, as: UTF8.self)
    }
}

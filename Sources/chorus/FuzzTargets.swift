import Gossip
import Peer
import Ring
import Storage

/// One decoder under `chorus fuzz`: valid seed inputs, and a body that feeds it one input.
/// The body reports every error it sees to `FuzzCheck`, which asserts it is clear.
struct FuzzTarget {
    let name: String
    let about: String
    /// Largest input the mutator makes (store files are larger than wire messages).
    let maxBytes: Int
    let seeds: () throws -> [[UInt8]]
    let run: ([UInt8], inout FuzzCheck) -> Void
}

/// What one input showed: errors that are not one clear line (empty, multi-line, or longer
/// than a log line should be).
struct FuzzCheck {
    var unclear: [String] = []
    var errors = 0

    mutating func error(_ e: any Error) {
        errors += 1
        let text = String(describing: e)
        if text.isEmpty || text.contains("\n") || text.utf8.count > 4_096 { unclear.append(text.isEmpty ? "(empty error text)" : String(text.prefix(200))) }
    }

    /// A decode that succeeded must encode back to something that decodes to the same.
    mutating func roundTrip(_ ok: Bool, _ what: String) {
        if !ok { unclear.append("\(what): decoded value did not survive encode and decode") }
    }
}

enum FuzzTargets {
    static let all: [FuzzTarget] = [resp, respReply, frame, peerMessages, keyRecord, context, gossip, ring, scanCursor, config, wal, table, manifest]

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: Client protocol

    static let resp = FuzzTarget(name: "resp", about: "RESP2/RESP3 request parser and inline commands", maxBytes: 16 << 10, seeds: {
        ["*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n", "PING\r\n", "SET \"a b\" 'c\\'d'\r\n", "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
         "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", "*-1\r\n", "$-1\r\n", "*1048577\r\n", "$33554433\r\n", "\r\n\r\n"].map { Array($0.utf8) }
    }, run: { input, check in
        // Whole, then a byte at a time: a parser must not depend on how reads split.
        for step in [input.count, 1] where step > 0 && (step > 1 || input.count <= 2_048) {
            var p = RESPParser(limits: RESPLimits(maxBulkBytes: 1 << 20, maxArrayLength: 1 << 16))
            var at = 0
            var rounds = 0
            feeding: while at < input.count || rounds == 0 {
                let end = min(input.count, at + step)
                p.append(Array(input[at..<end]))
                at = end
                rounds += 1
                do {
                    while try p.next() != nil { if rounds > 100_000 { break feeding } }
                } catch {
                    check.error(error)
                    break
                }
                if at >= input.count { break }
            }
        }
    })

    static let respReply = FuzzTarget(name: "resp-reply", about: "RESP2/RESP3 reply parser (chorus client, bench)", maxBytes: 16 << 10, seeds: {
        ["+OK\r\n", "-ERR x\r\n", ":42\r\n", "$3\r\nabc\r\n", "*2\r\n:1\r\n$-1\r\n", "%1\r\n+k\r\n+v\r\n", "~1\r\n#t\r\n", ",1.5\r\n",
         "(123456789012345678901234567890\r\n", "=7\r\ntxt:abc\r\n", "|1\r\n+a\r\n+b\r\n:1\r\n", ">2\r\n+a\r\n+b\r\n", "_\r\n", "!3\r\nbad\r\n"].map { Array($0.utf8) }
    }, run: { input, check in
        let parser = RESPReplyParser(maxBulkBytes: 1 << 20, maxArrayLength: 1 << 16, maxDepth: 32)
        var rest = input[...]
        for _ in 0..<10_000 {
            do {
                guard let (_, consumed) = try parser.parse(Array(rest)), consumed > 0 else { return }
                rest = rest.dropFirst(consumed)
            } catch {
                return check.error(error)
            }
        }
    })

    // MARK: Peer RPC

    static func sampleRecords() throws -> [KeyRecord] {
        let n1: NodeID = "n1", n2: NodeID = "n2"
        let state = try KeyState(context: VersionVector([n1: 3, n2: 1]),
                                 siblings: [Sibling(dot: Dot(actor: n1, counter: 3), value: .value(Array("v1".utf8)), writeID: 7),
                                            Sibling(dot: Dot(actor: n2, counter: 1), value: .tombstone)])
        let lww = LWWKeyState(timestamp: HLCTimestamp(physicalMs: 1_700_000_000_000, logical: 2, node: n1), value: .value(Array("lww".utf8)))
        return [.siblings(state), .siblings(KeyState()), .lww(lww)]
    }

    static func sampleMessages() throws -> [(PeerMessageType, [UInt8])] {
        let address = KeyAddress(namespace: Array("default".utf8), partition: 3, key: Array("key".utf8))
        let records = try sampleRecords().map { $0.encode() }
        let tree = TreeID(partition: 3, namespace: Array("default".utf8))
        let keyed = records.enumerated().map { (key: Array("k\($0.offset)".utf8), record: $0.element) }
        return [
            (.replicaWrite, ReplicaWriteMessage(address: address, record: records[0], hintFor: "n2").encode()),
            (.replicaWrite, ReplicaWriteMessage(address: address, record: records[2], hintFor: nil).encode()),
            (.replicaRead, ReplicaReadMessage(address: address).encode()),
            (.replicaRead, ReplicaReadAnswer.encode(records[0])),
            (.hintDelivery, HintBatchMessage(entries: records.map { (address, $0) }).encode()),
            (.forwardWrite, ForwardWriteMessage(namespace: Array("default".utf8), key: Array("k".utf8), context: VersionVector(["n1": 2]).encodeContext(),
                                                value: Array("v".utf8), w: 2, strict: true, timeoutMs: 500, writeID: 99).encode()),
            (.forwardWrite, ForwardWriteAnswer.encode("ERR quorum not reached")),
            (.merkleTree, TreeHashesRequest(tree: tree, inner: [1, 5, 31]).encode()),
            (.merkleTree, TreeHashesAnswer.encode([1, 2, 3, UInt64.max])),
            (.merkleSegment, SegmentRequest(tree: tree, segments: [0, 17, 1023], entries: [(Array("k".utf8), 42)]).encode()),
            (.merkleSegment, SegmentAnswer(records: keyed, wanted: [(Array("w".utf8), true)]).encode()),
            (.handoffBatch, HandoffRequest(tree: tree, afterKey: Array("k".utf8), maxKeys: 100, maxBytes: 1 << 20).encode()),
            (.handoffBatch, HandoffChunk(records: keyed, done: false, remainingBytes: 12_345).encode()),
            (.scanChunk, ScanChunkRequest(namespace: Array("default".utf8), partition: 2, position: 77, limit: 10).encode()),
            (.scanChunk, ScanChunkAnswer(entries: try sampleRecords().map { ScanChunkAnswer.Entry(key: Array("s".utf8), record: $0) }, next: 9).encode()),
            (.namespaceCreate, try NamespaceTable(version: 2, namespaces: [Namespace.standard, try Namespace(name: "ns1", n: 2)]).encode()),
        ]
    }

    /// Every decoder a peer's payload can reach, whatever type it claims.
    static func decodeEveryMessage(_ p: [UInt8], _ check: inout FuzzCheck) {
        func attempt(_ body: () throws -> Void) { do { try body() } catch { check.error(error) } }
        attempt { _ = try ReplicaWriteMessage(decoding: p) }
        attempt { _ = try ReplicaReadMessage(decoding: p) }
        attempt { _ = try ReplicaReadAnswer.decode(p) }
        attempt { _ = try HintBatchMessage(decoding: p) }
        attempt { _ = try ForwardWriteMessage(decoding: p) }
        attempt { _ = try ForwardWriteAnswer.decode(p) }
        attempt { _ = try TreeHashesRequest(decoding: p) }
        attempt { _ = try TreeHashesAnswer.decode(p) }
        attempt { _ = try SegmentRequest(decoding: p) }
        attempt { _ = try SegmentAnswer(decoding: p) }
        attempt { _ = try HandoffRequest(decoding: p) }
        attempt { _ = try HandoffChunk(decoding: p) }
        attempt { _ = try ScanChunkRequest(decoding: p) }
        attempt { _ = try ScanChunkAnswer(decoding: p) }
        attempt { _ = try HandoffReport(decoding: p) }
        attempt { _ = try NamespaceTable(decoding: p) }
        attempt {
            let m = try ReplicaWriteMessage(decoding: p)
            _ = try KeyRecord(decoding: m.record)
        }
    }

    static let frame = FuzzTarget(name: "frame", about: "peer RPC frame decoder, handshake hellos, and every message type's payload", maxBytes: 16 << 10, seeds: {
        var out: [[UInt8]] = []
        for (i, (type, payload)) in try sampleMessages().enumerated() {
            out.append(Frame(kind: i % 2 == 0 ? .request : .response, type: type.rawValue, requestID: UInt64(i), timeoutMs: 100, payload: payload).encoded())
        }
        out.append(Frame(kind: .error, type: 2, requestID: 1, payload: [0, 1] + Array("overloaded".utf8)).encoded())
        out.append(PeerAuthServer(nodeID: "n1", secret: Array("s".utf8), nonce: [UInt8](repeating: 7, count: PeerAuth.nonceBytes)).hello().encoded())
        return out
    }, run: { input, check in
        var decoder = FrameDecoder(maxFrameBytes: 1 << 20)
        decoder.append(input)
        let server = PeerAuthServer(nodeID: "n1", secret: Array("s".utf8), nonce: [UInt8](repeating: 7, count: PeerAuth.nonceBytes))
        for _ in 0..<1_000 {
            do {
                guard let f = try decoder.next() else { return }
                _ = server.onClientHello(f)
                decodeEveryMessage(f.payload, &check)
            } catch {
                return check.error(error)
            }
        }
    })

    static let peerMessages = FuzzTarget(name: "peer-messages", about: "every peer message decoder on raw payload bytes", maxBytes: 16 << 10, seeds: {
        try sampleMessages().map(\.1)
    }, run: { input, check in decodeEveryMessage(input, &check) })

    static let keyRecord = FuzzTarget(name: "keyrecord", about: "stored and replicated key records (siblings, lww)", maxBytes: 16 << 10, seeds: {
        try sampleRecords().map { $0.encode() }
    }, run: { input, check in
        do {
            let r = try KeyRecord(decoding: input)
            check.roundTrip((try? KeyRecord(decoding: r.encode())) == r, "KeyRecord")
        } catch {
            check.error(error)
        }
    })

    static let context = FuzzTarget(name: "context", about: "client causal contexts (version vectors)", maxBytes: 16 << 10, seeds: {
        [VersionVector(["n1": 3, "n2": 1]).encodeContext(), VersionVector().encodeContext(), VersionVector(["a": UInt64.max]).encodeContext()]
    }, run: { input, check in
        do {
            let v = try VersionVector(decodingContext: input)
            check.roundTrip((try? VersionVector(decodingContext: v.encodeContext())) == v, "context")
        } catch {
            check.error(error)
        }
    })

    // MARK: Gossip

    static func gossipCore(secret: [UInt8]?) -> SwimCore {
        var c = GossipConfig()
        c.secret = secret
        var core = SwimCore(config: c, me: Member(id: "n1", gossip: Endpoint(host: "127.0.0.1", port: 7946)), seed: 1)
        _ = core.start(seeds: [], now: 1_000_000_000)
        return core
    }

    static let gossip = FuzzTarget(name: "gossip", about: "SWIM packets and push-pull frames, with and without a secret", maxBytes: 64 << 10, seeds: {
        var out: [[UInt8]] = []
        for secret in [nil, Array("s".utf8)] as [[UInt8]?] {
            var c = GossipConfig()
            c.secret = secret
            var b = SwimCore(config: c, me: Member(id: "n2", gossip: Endpoint(host: "127.0.0.2", port: 7946)), seed: 2)
            var actions = b.start(seeds: [Endpoint(host: "127.0.0.1", port: 7946)], now: 1_000_000_000)
            actions += b.publishState(key: "ring", version: 3, payload: [1, 2, 3], now: 1_000_000_000)
            b.preload([Member(id: "n1", gossip: Endpoint(host: "127.0.0.1", port: 7946)), Member(id: "n3", gossip: Endpoint(host: "127.0.0.3", port: 7946))], now: 1_000_000_000)
            for step in 1...20 { actions += b.onTick(now: 1_000_000_000 + UInt64(step) * 200_000_000) }
            for a in actions {
                if case .send(_, let bytes) = a { out.append(bytes) }
                if case .pushPull(_, let bytes) = a { out.append(bytes) }
            }
        }
        return out
    }, run: { input, _ in
        // Decoding never throws out of the core: every rejection is a counted drop.
        for secret in [nil, Array("s".utf8)] as [[UInt8]?] {
            var core = gossipCore(secret: secret)
            _ = core.onPacket(from: Endpoint(host: "127.0.0.2", port: 7946), bytes: input, now: 1_000_000_000)
            _ = core.onPushPullRequest(from: Endpoint(host: "127.0.0.2", port: 7946), bytes: input, now: 1_000_000_000)
            _ = core.onPushPullReply(from: Endpoint(host: "127.0.0.2", port: 7946), bytes: input, now: 1_000_000_000)
        }
    })

    static let ring = FuzzTarget(name: "ring", about: "gossiped and stored ring and namespace table", maxBytes: 64 << 10, seeds: {
        [try Claim.initial(partitionCount: 16, members: ["n1", "n2", "n3"], targetN: 3).encode(),
         try NamespaceTable(version: 4, namespaces: [Namespace.standard, try Namespace(name: "ns", n: 1)]).encode()]
    }, run: { input, check in
        do {
            let r = try Ring(decoding: input)
            check.roundTrip((try? Ring(decoding: r.encode())) == r, "Ring")
        } catch { check.error(error) }
        do {
            let t = try NamespaceTable(decoding: input)
            check.roundTrip((try? NamespaceTable(decoding: t.encode())) == t, "NamespaceTable")
        } catch { check.error(error) }
    })

    static let scanCursor = FuzzTarget(name: "scan-cursor", about: "SCAN cursors from clients", maxBytes: 64, seeds: {
        ["0", "1", "18446744073709551615", "4294967296", "00012", "-1", "+5", "99999999999999999999"].map { Array($0.utf8) }
    }, run: { input, _ in
        for partitions in [1, 256, 4096] {
            if let c = ScanCursor(text: input, partitionCount: partitions), ScanCursor(rawValue: c.rawValue, partitionCount: partitions) == nil {
                // A cursor we accepted must be one we can also produce.
                fatalError("scan cursor \(c) accepted as text but not as its own value")
            }
        }
    })

    static let config = FuzzTarget(name: "config", about: "serve --config files", maxBytes: 8 << 10, seeds: {
        ["# c\nhost 127.0.0.1\nsync always\n", "seed 127.0.0.1:7946\nseed 127.0.0.2:7946\n", "requirepass pa#ss  # x\r\n", "bogus 1\n", "sync\n"].map { Array($0.utf8) }
    }, run: { input, check in
        do { _ = try ConfigFile.parse(String(decoding: input, as: UTF8.self), path: "fuzz.conf", known: ServeCommand.settings) } catch { check.error(error) }
    })

    // MARK: Storage files

    /// A small store's files, made once: WAL records, a table, a manifest.
    nonisolated(unsafe) static var madeStore: [(name: String, bytes: [UInt8])]?

    /// A fresh file system holding a copy of that store.
    static func storeFiles() throws -> MemoryFileSystem {
        if madeStore == nil {
            let fs = try makeStore()
            madeStore = try fs.children("/db").sorted().map { ($0, try fs.readFile("/db/" + $0)) }
        }
        let fs = MemoryFileSystem()
        try fs.createDirectory("/db")
        for (name, bytes) in madeStore ?? [] where name != "LOCK" {
            let f = try fs.createWritable("/db/" + name)
            try f.append(bytes)
            try f.close()
        }
        return fs
    }

    static func makeStore() throws -> MemoryFileSystem {
        let fs = MemoryFileSystem()
        var o = StorageOptions()
        o.fileSystem = fs
        o.memtableSizeBytes = 16 << 10
        o.blockSizeBytes = 512
        let store = try Store.open(path: "/db", options: o)
        for i in 0..<300 { try store.put(Array("key\(i)".utf8), Array("value-\(i)-".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: i % 40)) }
        try store.deleteRange(start: Array("key1".utf8), end: Array("key15".utf8))
        // A table for certain (background flushes race the close), then a log after it.
        try store.flush()
        for i in 300..<320 { try store.put(Array("key\(i)".utf8), Array("tail".utf8)) }
        try store.close()
        return fs
    }

    /// Replaces the first file whose name matches with `input`, opens the store and reads
    /// everything: a damaged file must give a StorageError, never a trap or a wrong size.
    static func openWith(_ input: [UInt8], replacing matches: (String) -> Bool, _ check: inout FuzzCheck) {
        do {
            let fs = try storeFiles()
            guard let name = try fs.children("/db").sorted().first(where: matches) else { return }
            try fs.removeFile("/db/" + name)
            let f = try fs.createWritable("/db/" + name)
            try f.append(input)
            try f.close()
            var o = StorageOptions()
            o.fileSystem = fs
            o.errorRecoveryIntervalMs = 0
            do {
                let store = try Store.open(path: "/db", options: o)
                defer { try? store.close() }
                let it = try store.makeIterator(range: .all)
                var n = 0
                while it.isValid, n < 100_000 {
                    _ = try store.get(Array(it.key))
                    try it.next()
                    n += 1
                }
            } catch {
                check.error(error)
            }
        } catch {
            // Making the seed store failed: not the input's fault.
            fatalError("fuzz harness: cannot build the store: \(error)")
        }
    }

    static func fileOfStore(_ matches: @escaping (String) -> Bool) -> () throws -> [[UInt8]] {
        {
            let fs = try storeFiles()
            return try fs.children("/db").sorted().filter(matches).map { try fs.readFile("/db/" + $0) }
        }
    }

    static let wal = FuzzTarget(name: "wal", about: "write-ahead log records, replayed at open", maxBytes: 256 << 10,
                                seeds: fileOfStore { $0.hasSuffix(".log") }, run: { input, check in openWith(input, replacing: { $0.hasSuffix(".log") }, &check) })

    static let table = FuzzTarget(name: "sstable", about: "sorted table blocks, index, filter and footer", maxBytes: 256 << 10,
                                  seeds: fileOfStore { $0.hasSuffix(".sst") }, run: { input, check in openWith(input, replacing: { $0.hasSuffix(".sst") }, &check) })

    static let manifest = FuzzTarget(name: "manifest", about: "the manifest's version edits, read at open", maxBytes: 64 << 10,
                                     seeds: fileOfStore { $0.hasPrefix("MANIFEST") }, run: { input, check in openWith(input, replacing: { $0.hasPrefix("MANIFEST") }, &check) })
}

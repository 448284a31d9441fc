import Foundation
import Peer
import Synchronization

/// `chorus bench cluster`: a RESP load generator against a running peer (or any Redis
/// server, for the reference run): C client threads, each pipelining P commands, SET then GET
/// over random keys with V-byte values; prints ops/s and latency percentiles per workload.
enum ClusterBench {
    static let help = """
    usage: chorus bench cluster [-h HOST] [-p PORT] [--clients 50] [--requests 100000]
                                [--pipeline 1] [--value-size 100] [--keyspace 100000]
    Runs SET then GET against the peer (any peer serves any key). For the reference, point it
    at a redis-server; scripts/bench.sh cluster runs both side by side with redis-benchmark.
    """

    static func run(_ args: [String]) -> Int32 {
        if args.contains("--help") {
            print(help)
            return 0
        }
        let host: String
        let port, clients, requests, pipeline, valueSize, keyspace: Int
        do {
            let f = try Flags(args, valued: ["h", "p", "clients", "requests", "pipeline", "value-size", "keyspace"])
            guard f.positional.isEmpty else { throw Flags.UsageError(description: "unexpected argument \(f.positional[0])") }
            host = f.string("h") ?? "127.0.0.1"
            port = try f.int("p", default: 6380, range: 1...65535)
            clients = try f.int("clients", default: 50, range: 1...1000)
            requests = try f.int("requests", default: 100_000, range: 1...100_000_000)
            pipeline = try f.int("pipeline", default: 1, range: 1...1000)
            valueSize = try f.int("value-size", default: 100, range: 0...(16 << 20))
            keyspace = try f.int("keyspace", default: 100_000, range: 1...1_000_000_000)
        } catch {
            printError("bench cluster: \(error)")
            return 2
        }
        print("bench cluster: \(host):\(port), \(clients) clients, \(requests) requests per workload, pipeline \(pipeline), \(valueSize)-byte values")
        for workload in ["SET", "GET"] {
            let hist = Mutex(StorageBench.Histogram())
            let errors = Atomic<Int>(0)
            let perClient = max(1, requests / clients)
            let start = StorageBench.nowNanos()
            // One OS thread per client: they block on sockets, so a core-wide pool would run two.
            let group = DispatchGroup()
            for _ in 0..<clients { group.enter() }
            for _ in 0..<clients { Thread {
                defer { group.leave() }
                var local = StorageBench.Histogram()
                var rng = SystemRandomNumberGenerator()
                let value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
                guard let client = try? RESPClient(host: host, port: UInt16(port), timeoutMs: 30_000) else {
                    errors.wrappingAdd(perClient, ordering: .relaxed)
                    return
                }
                defer { client.close() }
                var done = 0
                while done < perClient {
                    let batch = min(pipeline, perClient - done)
                    let t0 = StorageBench.nowNanos()
                    for _ in 0..<batch {
                        let key = Array("key:\(Int.random(in: 0..<keyspace, using: &rng))".utf8)
                        client.send(workload == "SET" ? [Array("SET".utf8), key, value] : [Array("GET".utf8), key])
                    }
                    do {
                        try client.flush()
                        for _ in 0..<batch {
                            if case .error = try client.readReply() { errors.wrappingAdd(1, ordering: .relaxed) }
                        }
                    } catch {
                        errors.wrappingAdd(batch, ordering: .relaxed)
                        return
                    }
                    let elapsed = StorageBench.nowNanos() - t0
                    for _ in 0..<batch { local.add(elapsed) }
                    done += batch
                }
                let finished = local
                hist.withLock { $0.merge(finished) }
            }.start() }
            group.wait()
            let seconds = Double(StorageBench.nowNanos() - start) / 1e9
            let h = hist.withLock { $0 }
            let ops = Double(h.total) / max(seconds, 1e-9)
            print(workload + String(format: " %10.0f ops/s   p50 %8.3f ms   p99 %8.3f ms   p99.9 %8.3f ms   errors %d",
                         ops, h.percentileMicros(50) / 1000, h.percentileMicros(99) / 1000,
                         h.percentileMicros(99.9) / 1000, errors.load(ordering: .relaxed)))
        }
        return 0
    }
}

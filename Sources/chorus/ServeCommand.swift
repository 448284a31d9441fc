#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Peer
import Storage

/// `chorus serve`: parses SPEC section 2's flags into a NodeConfig and runs a peer until
/// SIGTERM or SIGINT, then shuts down cleanly.
enum ServeCommand {
    static let help = """
    usage: chorus serve --data DIR [options]

      --host ADDR              address every port binds to (default 127.0.0.1)
      --client-port P          RESP client port (default 6380)
      --gossip-port P          SWIM gossip, UDP and TCP (default 7946)
      --peer-port P            peer RPC (default 7947)
      --http-port P            GET /metrics and /status (default 8080)
      --seed HOST:PORT         gossip address of a live member; repeatable; none = new cluster
      --data DIR               all durable state (required)
      --node-id NAME           stable identity (default host:gossip-port), kept in DIR
      --partitions Q           ring size, power of two, 1 to 4096 (default 256)
      --sync POLICY            always | periodic:MS | never (default always)
      --cluster-secret S       HMAC key for gossip and peer connections (or CHORUS_CLUSTER_SECRET)
      --cluster-secret-file F  the same, from the first line of F (argv is visible in /proc)
      --requirepass PW         clients must AUTH PW first (or CHORUS_REQUIREPASS)
      --requirepass-file F     the same, from the first line of F
      --max-clock-offset MS    largest wall-clock offset from the other members tolerated (default 500)
      --max-clients N          client connections at once (default 10000); one more gets
                               -ERR max number of clients reached
      --timeout S              close a client connection idle for S seconds (default 0: never)
      --max-keys-per-command N most keys one MGET/MSET/DEL/EXISTS may name (default 10000)
      --max-queued-commands N  client commands of all connections waiting in this peer at once
                               (default 10000); at the bound it stops reading client sockets
                               until replies free room (backpressure, no error)
      --loops N                event loops for client and peer connections (default: one per core)
      --log-level L            debug | info | warn | error (default info)
      --log-format F           logfmt | json, one line per event on stderr (default logfmt)
      --config FILE            one flag per line as `name value` (`sync always`), # comments;
                               a flag given on the command line wins
      --print-config           print the effective configuration in that format and exit

    repair and handoff tuning:
      --handoff-rate B         bytes per second this peer pulls during handoff (default 33554432)
      --handoff-concurrency N  transfers pulled at once (default 2)
      --anti-entropy-interval MS  one Merkle tree compared every MS, 0 = off (default 1000)
      --anti-entropy-rate B    bytes per second anti-entropy may move (default 4194304)
      --hint-window MS         hints older than MS are deleted unsent, 0 = never (default 10800000, 3 h)
      --max-hint-bytes B       bytes of hints kept for one down owner; past it new hints are
                               refused, older ones kept (default 1073741824)
    """

    static func run(_ args: [String]) -> Int32 {
        if args.contains("--help") || args.contains("-h") {
            print(help)
            return 0
        }
        let config: NodeConfig
        let printConfig: Bool
        do {
            let flags = try flagsWithConfigFile(args)
            printConfig = flags.has("print-config")
            config = try parse(flags)
        } catch {
            printError("\(error)")
            return 2
        }
        let warnings = SecretSources.warnings(args, requirePass: config.requirePass, host: config.host)
        if !warnings.isEmpty {
            let log = Logger(level: config.logLevel, format: config.logFormat)
            for w in warnings { log.warn(w) }
            StderrLogSink.shared.flush()
        }
        if printConfig {
            print(effectiveConfig(config), terminator: "")
            return 0
        }
        let node: Node
        do {
            node = try Node(config: config)
            // A node that left the cluster or was removed stops the process.
            node.onExit = { ServeCommand.stopRequested = 1 }
            try node.start()
        } catch {
            Logger(level: config.logLevel, format: config.logFormat).error("cannot start", ["error": "\(error)"])
            StderrLogSink.shared.flush()
            return 1
        }
        // Signals only set a flag; the main thread notices within 100 ms and shuts down.
        signal(SIGTERM) { _ in ServeCommand.stopRequested = 1 }
        signal(SIGINT) { _ in ServeCommand.stopRequested = 1 }
        signal(SIGPIPE, SIG_IGN)
        while stopRequested == 0 { usleep(100_000) }
        node.log.info("signal received; shutting down")
        node.shutdown()
        StderrLogSink.shared.flush()
        return 0
    }

    nonisolated(unsafe) static var stopRequested: sig_atomic_t = 0

    /// Every valued flag of `serve`; each may also be a line of a config file.
    static let settings: Set<String> = [
        "host", "client-port", "gossip-port", "peer-port", "http-port", "seed", "data", "node-id", "partitions",
        "sync", "cluster-secret", "requirepass", "max-clock-offset", "log-level", "log-format",
        "max-clients", "timeout", "max-keys-per-command", "max-queued-commands", "loops",
        "handoff-rate", "handoff-concurrency", "anti-entropy-interval", "anti-entropy-rate",
        "hint-window", "max-hint-bytes",
    ]

    /// The command line's flags, with the settings of `--config FILE` for every flag it does not give.
    static func flagsWithConfigFile(_ args: [String]) throws -> Flags {
        let flags = try Flags(args, valued: settings.union(["config"]).union(SecretSources.fileFlags), boolean: ["print-config"])
        guard let path = flags.string("config") else { return flags }
        return flags.merging(file: try ConfigFile.load(path, known: settings))
    }

    static func parse(_ args: [String]) throws -> NodeConfig {
        try parse(try flagsWithConfigFile(args))
    }

    static func parse(_ flags: Flags) throws -> NodeConfig {
        guard flags.positional.isEmpty else { throw Flags.UsageError(description: "unexpected argument \(flags.positional[0])") }
        guard let data = flags.string("data") else { throw Flags.UsageError(description: "--data DIR is required") }
        var c = NodeConfig(dataDirectory: data)
        c.host = flags.string("host") ?? c.host
        c.clientPort = UInt16(try flags.int("client-port", default: 6380, range: 1...65535))
        c.gossipPort = UInt16(try flags.int("gossip-port", default: 7946, range: 1...65535))
        c.peerPort = UInt16(try flags.int("peer-port", default: 7947, range: 1...65535))
        c.httpPort = UInt16(try flags.int("http-port", default: 8080, range: 1...65535))
        c.seeds = flags.strings("seed")
        for (i, s) in c.seeds.enumerated() where s.split(separator: ":").count != 2 || Int(s.split(separator: ":")[1]) == nil {
            throw flags.badValue("seed", at: i, "expected HOST:PORT")
        }
        c.nodeID = flags.string("node-id")
        // At most 4,096: the ring is gossiped as one value of at most ~65,000 bytes.
        c.partitions = try flags.int("partitions", default: 256, range: 1...4096)
        guard c.partitions & (c.partitions - 1) == 0 else { throw flags.badValue("partitions", "expected a power of two") }
        if let s = flags.string("sync") {
            do { c.sync = try SyncPolicy(parsing: s) } catch { throw flags.badValue("sync", "expected always, periodic:MS (1...3600000) or never") }
        }
        if let s = flags.string("log-level") {
            guard let level = LogLevel(name: s) else { throw flags.badValue("log-level", "expected debug, info, warn or error") }
            c.logLevel = level
        }
        if let s = flags.string("log-format") {
            guard let format = LogFormat(rawValue: s) else { throw flags.badValue("log-format", "expected logfmt or json") }
            c.logFormat = format
        }
        let secret = try SecretSources.value("cluster-secret", flags)
        if let secret, !secret.isEmpty { c.clusterSecret = Array(secret.utf8) }
        c.requirePass = try SecretSources.value("requirepass", flags)
        c.limits.maxClockOffsetMs = try flags.int("max-clock-offset", default: c.limits.maxClockOffsetMs, range: 1...86_400_000)
        c.maxClients = try flags.int("max-clients", default: c.maxClients, range: 1...1_000_000)
        c.clientIdleTimeoutMs = 1000 * (try flags.int("timeout", default: 0, range: 0...31_536_000))
        c.maxKeysPerCommand = try flags.int("max-keys-per-command", default: c.maxKeysPerCommand, range: 1...1_000_000)
        c.maxQueuedCommands = try flags.int("max-queued-commands", default: c.maxQueuedCommands, range: 1...10_000_000)
        if flags.string("loops") != nil { c.loops = try flags.int("loops", default: 1, range: 1...256) }
        c.limits.handoffBytesPerSecond = try flags.int("handoff-rate", default: c.limits.handoffBytesPerSecond, range: 1_024...(1 << 40))
        c.limits.handoffConcurrency = try flags.int("handoff-concurrency", default: c.limits.handoffConcurrency, range: 1...64)
        c.limits.antiEntropyIntervalMs = try flags.int("anti-entropy-interval", default: c.limits.antiEntropyIntervalMs, range: 0...3_600_000)
        c.limits.antiEntropyBytesPerSecond = try flags.int("anti-entropy-rate", default: c.limits.antiEntropyBytesPerSecond, range: 1_024...(1 << 40))
        c.limits.hintWindowMs = Int64(try flags.int("hint-window", default: Int(c.limits.hintWindowMs), range: 0...(365 * 86_400_000)))
        c.maxHintBytesPerTarget = try flags.int("max-hint-bytes", default: c.maxHintBytesPerTarget, range: (1 << 20)...(1 << 44))
        return c
    }
}

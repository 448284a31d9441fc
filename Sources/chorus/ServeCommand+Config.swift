import Net
import Peer

extension ServeCommand {
    /// `chorus serve --print-config`: every setting's effective value (command line, then
    /// config file, then default) in the config file's own format, so the output can be
    /// saved and given back with `--config FILE`. Secrets are printed as set: the output is
    /// as sensitive as the config file it stands for.
    static func effectiveConfig(_ c: NodeConfig) -> String {
        var lines = ["# chorus serve: effective configuration; use as: chorus serve --config FILE"]
        func set(_ name: String, _ value: String) { lines.append("\(name) \(value)") }
        set("host", c.host)
        set("client-port", String(c.clientPort))
        set("gossip-port", String(c.gossipPort))
        set("peer-port", String(c.peerPort))
        set("http-port", String(c.httpPort))
        if c.seeds.isEmpty { lines.append("# seed: none (this peer starts a new cluster)") }
        for s in c.seeds { set("seed", s) }
        set("data", c.dataDirectory)
        if let id = c.nodeID { set("node-id", id) } else { lines.append("# node-id: default (host:gossip-port, or the one kept in data)") }
        set("partitions", String(c.partitions))
        set("sync", c.sync.description)
        if let secret = c.clusterSecret {
            set("cluster-secret", String(decoding: secret, as: UTF8.self))
        } else {
            lines.append("# cluster-secret: none (gossip and peer connections are not authenticated)")
        }
        if let pass = c.requirePass { set("requirepass", pass) } else { lines.append("# requirepass: none") }
        set("max-clock-offset", String(c.limits.maxClockOffsetMs))
        set("max-clients", String(c.maxClients))
        set("timeout", String(c.clientIdleTimeoutMs / 1000))
        set("max-keys-per-command", String(c.maxKeysPerCommand))
        set("max-queued-commands", String(c.maxQueuedCommands))
        set("loops", String(c.loops ?? LoopGroup.defaultCount))
        set("log-level", c.logLevel.description)
        set("log-format", c.logFormat.rawValue)
        set("handoff-rate", String(c.limits.handoffBytesPerSecond))
        set("handoff-concurrency", String(c.limits.handoffConcurrency))
        set("anti-entropy-interval", String(c.limits.antiEntropyIntervalMs))
        set("anti-entropy-rate", String(c.limits.antiEntropyBytesPerSecond))
        set("hint-window", String(c.limits.hintWindowMs))
        set("max-hint-bytes", String(c.maxHintBytesPerTarget))
        return lines.joined(separator: "\n") + "\n"
    }
}

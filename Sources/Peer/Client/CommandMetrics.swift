import Net
import Synchronization

/// Client command metrics: `chorus_command_duration_seconds{command}` (dispatch to reply),
/// `chorus_commands_total{command,outcome}` and `chorus_namespace_commands_total{namespace}`.
///
/// Hot-path cost per command: one lookup of the upper-case name in an immutable dictionary
/// built at start-up (no formatting, no lock), one monotonic clock read at dispatch and one
/// at the reply, and relaxed atomic adds. Names outside `commandNames` count as `other`, so
/// a client cannot grow the label set; add a new command's name to the table.
public final class CommandMetrics: Sendable {
    /// Every command with its own label (lower-cased in the label). Keep in step with the
    /// command table in ClientCommands.
    public static let commandNames: [String] = [
        "PING", "ECHO", "QUIT", "AUTH", "COMMAND", "SELECT", "CLIENT", "CONFIG", "HELLO", "INFO",
        "SET", "GET", "DEL", "EXISTS", "MGET", "MSET", "GETV", "PUTV", "DELV",
        "NS.CREATE", "NS.USE", "NS.LIST", "NS.INFO", "WHEREIS", "RING", "MEMBERS",
        "LEAVE", "REMOVE", "REPAIR", "HANDOFFS", "SCAN", "KEYS",
        // Redis commands likely to be served next (RESP3 work); harmless until then.
        "INCR", "DECR", "INCRBY", "DECRBY", "APPEND", "STRLEN", "GETSET", "SETNX", "SETEX", "PSETEX",
        "GETDEL", "GETEX", "MSETNX", "UNLINK", "TYPE", "TTL", "PTTL", "EXPIRE", "PEXPIRE", "PERSIST",
        "DBSIZE", "TIME", "RESET", "WAIT", "BACKUP", "RESTORE.RECORDS",
    ]
    /// Commands that name keys of the connection's namespace (counted per namespace).
    static let keyed: Set<String> = [
        "SET", "GET", "DEL", "EXISTS", "MGET", "MSET", "GETV", "PUTV", "DELV", "SCAN", "KEYS",
        "INCR", "DECR", "INCRBY", "DECRBY", "APPEND", "STRLEN", "GETSET", "SETNX", "SETEX", "PSETEX",
        "GETDEL", "GETEX", "MSETNX", "UNLINK", "TYPE", "TTL", "PTTL", "EXPIRE", "PEXPIRE", "PERSIST",
    ]
    /// Distinct namespaces with their own counter; more are counted as `other`.
    static let maxNamespaces = 256

    private let table: [String: CommandStats]
    private let other: CommandStats
    private let namespaceFamily: MetricFamily<MetricCounter>
    private let namespaces = Mutex<[String: MetricCounter]>([:])

    public init(registry: MetricsRegistry) {
        let durations = registry.histogram("chorus_command_duration_seconds",
                                           help: "Client command latency, from dispatch to the reply, by command.",
                                           labels: ["command"], buckets: MetricHistogram.latencyBuckets, omitUnused: true)
        let outcomes = registry.counter("chorus_commands_total",
                                        help: "Client commands answered, by command and outcome (ok, or error for an error reply).",
                                        labels: ["command", "outcome"], omitUnused: true)
        namespaceFamily = registry.counter("chorus_namespace_commands_total",
                                           help: "Client commands on keys, by the connection's namespace.",
                                           labels: ["namespace"])
        func stats(_ label: String, keyed: Bool) -> CommandStats {
            CommandStats(duration: durations.labels(label), ok: outcomes.labels(label, "ok"),
                         error: outcomes.labels(label, "error"), isKeyed: keyed)
        }
        var table: [String: CommandStats] = [:]
        for name in CommandMetrics.commandNames {
            table[name] = stats(name.lowercased(), keyed: CommandMetrics.keyed.contains(name))
        }
        self.table = table
        other = stats("other", keyed: false)
    }

    /// Starts timing a command; `name` upper case, as dispatch has it.
    @inline(__always) public func start(_ name: String, context: RESPConnectionContext) -> CommandMeter {
        let stats = table[name] ?? other
        if stats.isKeyed { namespaceCounter(context.namespace).increment() }
        return CommandMeter(stats: stats, startNs: MonotonicClock.nowNs())
    }

    /// Commands answered so far, and how many of them with an error reply.
    public var totals: (answered: UInt64, errors: UInt64) {
        var ok: UInt64 = 0, errors: UInt64 = 0
        for stats in table.values + [other] {
            ok &+= stats.ok.value
            errors &+= stats.error.value
        }
        return (ok &+ errors, errors)
    }

    /// Cumulative latency bucket counts of one command (`MetricHistogram.latencyBuckets`, then +Inf).
    public func cumulativeLatency(_ name: String) -> [UInt64] {
        (table[name] ?? other).duration.cumulativeCounts
    }

    private func namespaceCounter(_ ns: String) -> MetricCounter {
        if let c = namespaces.withLock({ $0[ns] }) { return c }
        let label = namespaces.withLock { $0.count } < CommandMetrics.maxNamespaces ? ns : "other"
        let counter = namespaceFamily.labels(label)
        namespaces.withLock { map in if map.count < CommandMetrics.maxNamespaces || label == "other" { map[ns] = counter } }
        return counter
    }
}

/// The metrics of one command name.
public final class CommandStats: Sendable {
    let duration: MetricHistogram
    let ok: MetricCounter
    let error: MetricCounter
    let isKeyed: Bool

    init(duration: MetricHistogram, ok: MetricCounter, error: MetricCounter, isKeyed: Bool) {
        self.duration = duration
        self.ok = ok
        self.error = error
        self.isKeyed = isKeyed
    }
}

/// A command in flight: finished once, when its reply is handed to the connection.
public struct CommandMeter: Sendable {
    // The stats live as long as the registry (the node): no reference counting per command.
    unowned(unsafe) let stats: CommandStats
    let startNs: UInt64

    @inline(__always) func finish(isError: Bool) {
        stats.duration.observeSince(startNs)
        (isError ? stats.error : stats.ok).increment()
    }
}

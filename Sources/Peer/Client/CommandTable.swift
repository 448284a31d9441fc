// The commands Chorus answers, for COMMAND, COMMAND INFO|DOCS|COUNT|LIST (Redis 7 shapes).
// One row per command the dispatcher in ClientCommands.swift serves; a command missing
// here is missing there (ClientCommandsTests pins the two together). Arity follows Redis:
// n = exactly n words with the name, -n = at least n. Commands that take the quorum
// options (R, W, STRICT, TIMEOUT) after their arguments have a negative arity.

/// One command's facts as COMMAND INFO and COMMAND DOCS report them.
public struct CommandSpec: Sendable, Equatable {
    public var name: String
    public var arity: Int
    public var flags: [String]
    public var firstKey: Int
    public var lastKey: Int
    public var step: Int
    public var group: String
    public var complexity: String
    public var summary: String

    /// COMMAND INFO's entry: [name, arity, flags, first key, last key, step, ACL categories,
    /// tips, key specs, subcommands], sets as Redis 7 sends them.
    public var infoReply: RESPValue {
        let categories = (flags.contains("write") ? ["@write"] : flags.contains("readonly") ? ["@read"] : []) + ["@" + group]
            + (flags.contains("fast") ? ["@fast"] : ["@slow"])
        return .array([
            .bulk(name), .integer(Int64(arity)), .set(flags.map { .simple($0) }),
            .integer(Int64(firstKey)), .integer(Int64(lastKey)), .integer(Int64(step)),
            .set(categories.map { .simple($0) }), .set([]), .set([]), .set([]),
        ])
    }

    /// COMMAND DOCS's entry (the value under the command's name).
    public var docsReply: RESPValue {
        .map(["summary": .bulk(summary), "since": .bulk("0.1.0"), "group": .bulk(group), "complexity": .bulk(complexity)])
    }
}

/// The table itself, in the order COMMAND lists it.
public enum CommandTable {
    private static func spec(_ name: String, _ arity: Int, _ flags: [String], _ keys: (Int, Int, Int), _ group: String,
                             _ complexity: String, _ summary: String) -> CommandSpec {
        CommandSpec(name: name, arity: arity, flags: flags, firstKey: keys.0, lastKey: keys.1, step: keys.2,
                    group: group, complexity: complexity, summary: summary)
    }

    private static let none = (0, 0, 0)
    private static let one = (1, 1, 1)

    public static let all: [CommandSpec] = [
        spec("ping", -1, ["fast"], none, "connection", "O(1)", "Returns PONG, or the argument"),
        spec("echo", 2, ["fast"], none, "connection", "O(1)", "Returns the argument"),
        spec("auth", -2, ["noscript", "loading", "stale", "fast", "no_auth"], none, "connection", "O(1)", "Authenticates the connection"),
        spec("quit", -1, ["fast", "no_auth"], none, "connection", "O(1)", "Closes the connection"),
        spec("hello", -1, ["noscript", "loading", "stale", "fast", "no_auth"], none, "connection", "O(1)",
             "Handshakes: chooses RESP2 or RESP3, optionally authenticates and names the connection"),
        spec("client", -2, ["noscript", "loading", "stale"], none, "connection", "O(1)",
             "CLIENT ID|GETNAME|SETNAME|SETINFO|INFO|LIST"),
        spec("select", 2, ["loading", "stale", "fast"], none, "connection", "O(1)", "Database 0 only; namespaces are chosen with NS.USE"),
        spec("command", -1, ["loading", "stale"], none, "server", "O(N)", "COMMAND [COUNT|INFO|DOCS|LIST]"),
        spec("config", -2, ["admin", "noscript", "loading", "stale"], none, "server", "O(N)", "CONFIG GET parameter [parameter ...]"),
        spec("info", -1, ["loading", "stale"], none, "server", "O(1)", "Server information and statistics"),
        spec("dbsize", -1, ["readonly"], none, "server", "O(Q)", "An estimate of the namespace's live keys across the ring"),
        spec("set", -3, ["write", "denyoom"], one, "string", "O(1)", "Sets a key's value (coordinated by a primary replica)"),
        spec("get", -2, ["readonly", "fast"], one, "string", "O(1)", "Reads a key's value; CONFLICT when it has siblings"),
        spec("mget", -2, ["readonly", "fast"], (1, -1, 1), "string", "O(N)", "Reads several keys"),
        spec("mset", -3, ["write", "denyoom"], (1, -1, 2), "string", "O(N)", "Sets several keys (each its own write)"),
        spec("incr", -2, ["write", "denyoom", "fast"], one, "string", "O(1)", "Adds 1 to a counter (a PN-counter); its value after"),
        spec("decr", -2, ["write", "denyoom", "fast"], one, "string", "O(1)", "Subtracts 1 from a counter; its value after"),
        spec("incrby", -3, ["write", "denyoom", "fast"], one, "string", "O(1)", "Adds n to a counter; its value after"),
        spec("decrby", -3, ["write", "denyoom", "fast"], one, "string", "O(1)", "Subtracts n from a counter; its value after"),
        spec("incrbyfloat", -3, ["write", "denyoom", "fast"], one, "string", "O(1)", "Refused: counters are exact integers (use INCRBY)"),
        spec("strlen", -2, ["readonly", "fast"], one, "string", "O(1)", "The length of a key's value"),
        spec("getrange", -4, ["readonly"], one, "string", "O(N)", "A substring of a key's value"),
        spec("del", -2, ["write"], (1, -1, 1), "generic", "O(N)", "Deletes keys; the number that existed"),
        spec("unlink", -2, ["write", "fast"], (1, -1, 1), "generic", "O(N)", "Deletes keys (as DEL)"),
        spec("exists", -2, ["readonly", "fast"], (1, -1, 1), "generic", "O(N)", "How many of the keys exist"),
        spec("touch", -2, ["readonly", "fast"], (1, -1, 1), "generic", "O(N)", "How many of the keys exist (no access times are kept)"),
        spec("type", -2, ["readonly", "fast"], one, "generic", "O(1)", "string, or none for an absent key"),
        spec("keys", -2, ["readonly"], none, "generic", "O(N)", "Every live key matching a pattern, across the ring"),
        spec("scan", -2, ["readonly"], none, "generic", "O(1) per step", "Iterates the namespace's keys across the ring"),
        spec("getv", -2, ["readonly", "fast"], one, "chorus", "O(1)", "Reads a key's context and every sibling"),
        spec("putv", -4, ["write", "denyoom"], one, "chorus", "O(1)", "Writes a value with the context GETV returned"),
        spec("delv", -3, ["write"], one, "chorus", "O(1)", "Deletes with the context GETV returned"),
        spec("ns.create", -2, ["write"], none, "chorus", "O(1)", "Creates a namespace (N, R, W, CONFLICT, GRACE)"),
        spec("ns.use", 2, ["fast"], none, "chorus", "O(1)", "Chooses the connection's namespace"),
        spec("ns.list", 1, ["fast"], none, "chorus", "O(N)", "Lists the namespaces"),
        spec("ns.info", 2, ["fast"], none, "chorus", "O(1)", "A namespace's settings"),
        spec("whereis", 2, ["fast"], one, "chorus", "O(N)", "The replicas of a key, in preference order"),
        spec("ring", 1, ["fast"], none, "chorus", "O(Q)", "Ring version, Q and the owner of every partition"),
        spec("members", 1, ["fast"], none, "chorus", "O(N)", "The cluster's members and their states"),
        spec("leave", 1, ["admin"], none, "chorus", "O(1)", "Hands this peer's data off and stops it"),
        spec("remove", 2, ["admin"], none, "chorus", "O(1)", "Removes a member from the ring"),
        spec("repair", -1, ["admin"], none, "chorus", "O(N)", "Runs anti-entropy now"),
        spec("handoffs", 1, ["admin"], none, "chorus", "O(N)", "Ownership transfers in progress"),
    ]

    private static let byName: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The command named `name` (any case), or nil.
    public static func spec(named name: String) -> CommandSpec? { byName[name.lowercased()] }
}

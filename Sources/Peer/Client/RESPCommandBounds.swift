// The number of keys one multi-key command may name (issue 14): MGET, MSET, DEL and EXISTS
// fan out to every key's replicas at once, so a single command with a million keys once
// started a million quorum requests. Checked on the connection's loop before the command
// reaches the handler, so the refusal costs nothing but its reply.

/// Bounds on multi-key commands.
enum RESPCommandBounds {
    /// Quorum options (`R n`, `W n`, `STRICT`, `TIMEOUT ms`) that may follow the keys.
    static let optionArguments = 7

    /// The error line for `command` when it names more than `maxKeys` keys, else nil.
    static func refusal(_ command: [[UInt8]], maxKeys: Int) -> String? {
        guard maxKeys > 0, command.count > maxKeys + 1 else { return nil }
        let name = command[0]
        let keys: Int
        if RESPCommandName.matches(name, "MSET") || RESPCommandName.matches(name, "MSETNX") {
            keys = (command.count - 1) / 2
        } else if RESPCommandName.matches(name, "MGET") || RESPCommandName.matches(name, "DEL")
                    || RESPCommandName.matches(name, "EXISTS") || RESPCommandName.matches(name, "UNLINK")
                    || RESPCommandName.matches(name, "TOUCH") {
            keys = command.count - 1
        } else {
            return nil
        }
        guard keys > maxKeys + optionArguments else { return nil }
        let shown = String(decoding: name, as: UTF8.self).uppercased()
        return "ERR too many keys in one \(shown) (\(keys), max \(maxKeys)): split it into several commands"
    }
}

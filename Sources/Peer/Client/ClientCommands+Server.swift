// Server introspection as Redis 7 answers it: COMMAND [COUNT|INFO|DOCS|LIST], CONFIG GET,
// INFO [section ...] (a verbatim string in RESP3). CONFIG SET/REWRITE are refused: a peer's
// settings are its `chorus serve` flags.

extension ClientCommands {
    func commandCommand(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        guard let sub = args.first else { return reply.reply(.array(CommandTable.all.map(\.infoReply))) }
        let name = ClientCommands.upper(sub)
        let rest = args.dropFirst()
        let names = rest.map { String(decoding: $0, as: UTF8.self) }
        switch name {
        case "COUNT":
            guard rest.isEmpty else { return reply.reply(.error("ERR wrong number of arguments for 'command|count' command")) }
            reply.reply(.integer(Int64(CommandTable.all.count)))
        case "INFO":
            let specs = names.isEmpty ? CommandTable.all.map { Optional($0) } : names.map { CommandTable.spec(named: $0) }
            reply.reply(.array(specs.map { $0?.infoReply ?? .nullArray }))
        case "DOCS":
            let specs = names.isEmpty ? CommandTable.all : names.compactMap { CommandTable.spec(named: $0) }
            reply.reply(.map(specs.map { RESPPair(.bulk($0.name), $0.docsReply) }))
        case "LIST":
            guard rest.isEmpty else { return reply.reply(.error("ERR syntax error")) }
            reply.reply(.array(CommandTable.all.map { .bulk($0.name) }))
        default:
            reply.reply(.error("ERR unknown subcommand '\(String(decoding: sub.prefix(64), as: UTF8.self))'. Try COMMAND HELP."))
        }
    }

    func config(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        guard let sub = args.first else { return reply.reply(wrongArity("CONFIG")) }
        let name = ClientCommands.upper(sub)
        let rest = args.dropFirst()
        switch name {
        case "GET":
            guard !rest.isEmpty else { return reply.reply(.error("ERR wrong number of arguments for 'config|get' command")) }
            // Each parameter once, in the table's order, matched by any of the patterns (Redis
            // globs, case-insensitive); an exact name answers under the spelling asked (as 7.0).
            let patterns = rest.map { GlobPattern(RESPCommandName.lowercased($0)) }
            var pairs: [RESPPair] = []
            for (parameter, value) in settings.configParameters {
                let lowered = Array(parameter.utf8)
                guard let hit = rest.indices.first(where: { patterns[$0 - rest.startIndex].matches(lowered) }) else { continue }
                let asked = rest[hit]
                let key = RESPCommandName.lowercased(asked) == lowered ? asked : lowered
                pairs.append(RESPPair(.bulk(key), .bulk(value)))
            }
            reply.reply(.map(pairs))
        case "SET", "REWRITE":
            reply.reply(.error("ERR CONFIG \(name) is not supported: a peer's settings are the flags of chorus serve"))
        case "RESETSTAT":
            guard rest.isEmpty else { return reply.reply(.error("ERR wrong number of arguments for 'config|resetstat' command")) }
            reply.reply(.ok)
        default:
            reply.reply(.error("ERR unknown subcommand '\(String(decoding: sub.prefix(64), as: UTF8.self))'. Try CONFIG HELP."))
        }
    }

    /// INFO [section ...]: every section, or those named (any case; `all`, `everything` and
    /// `default` mean every one). RESP3 gets a verbatim string, RESP2 a bulk string.
    func infoCommand(_ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        let wanted = Set(args.map { String(decoding: $0, as: UTF8.self).lowercased() })
        let everything = wanted.isEmpty || !wanted.isDisjoint(with: ["all", "everything", "default"])
        var text = ""
        for (section, fields) in info() where everything || wanted.contains(section.lowercased()) {
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section)\r\n"
            for (k, v) in fields { text += "\(k):\(v)\r\n" }
        }
        reply.reply(.verbatim(format: "txt", text: Array(text.utf8)))
    }
}

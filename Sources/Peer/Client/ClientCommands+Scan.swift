// SCAN and KEYS (SPEC section 5; PROTOCOL.md "SCAN"):
//
//   SCAN cursor [MATCH pattern] [COUNT n] [R n|one|quorum|all] [STRICT] [TIMEOUT ms]
//   KEYS pattern [R ..] [STRICT] [TIMEOUT ms]
//
// Over the connection's namespace (NS.USE). Replies as Redis: SCAN [cursor, [key, ...]]
// with the cursor as a decimal bulk string; KEYS [key, ...]. Errors as Redis where Redis
// has one (`ERR invalid cursor`, `ERR syntax error`, `ERR value is not an integer or out of
// range`); a replica shortfall is `UNAVAILABLE ...`/`TIMEOUT ...` as for reads.

extension ClientCommands {
    func scanCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let ns = context.namespace
        let engine = self.engine
        if name == "KEYS" {
            let split: (positional: ArraySlice<[UInt8]>, options: RequestOptions)
            do { split = try RequestOptions.split(args, positional: 1) } catch { return reply.reply(.error(error.message)) }
            guard split.positional.count == 1, let pattern = split.positional.first else { return reply.reply(wrongArity(name)) }
            if let bad = ClientCommands.scanOptionError(split.options) { return reply.reply(.error(bad)) }
            engine.scheduler.async {
                engine.scans.keys(namespace: ns, pattern: GlobPattern(pattern), options: split.options) { result in
                    switch result {
                    case .failure(let e): reply.reply(.error(e.line))
                    case .success(let keys): reply.reply(.array(keys.map { .bulk($0) }))
                    }
                }
            }
            return
        }
        guard let cursorText = args.first else { return reply.reply(wrongArity(name)) }
        guard let cursor = ScanCursor.parseNumber(cursorText) else { return reply.reply(.error("ERR invalid cursor")) }
        var pattern: GlobPattern?
        var count = 10
        var optionWords: [[UInt8]] = []
        var i = args.startIndex + 1
        while i < args.endIndex {
            let word = ClientCommands.upper(args[i])
            let hasValue = i + 1 < args.endIndex
            switch word {
            case "MATCH" where hasValue:
                pattern = GlobPattern(args[i + 1])
                i += 2
            case "COUNT" where hasValue:
                guard let n = QuorumLevel.decimal(args[i + 1], maxDigits: 18) else {
                    return reply.reply(.error("ERR value is not an integer or out of range"))
                }
                guard n >= 1 else { return reply.reply(.error("ERR syntax error")) }
                count = n
                i += 2
            case "R" where hasValue, "W" where hasValue, "TIMEOUT" where hasValue:
                // (`where` binds to one pattern only, hence three.)
                optionWords.append(args[i])
                optionWords.append(args[i + 1])
                i += 2
            case "STRICT":
                optionWords.append(args[i])
                i += 1
            default:
                return reply.reply(.error("ERR syntax error"))
            }
        }
        let options: RequestOptions
        do { options = try RequestOptions.parse(optionWords[...]) } catch { return reply.reply(.error(error.message)) }
        if let bad = ClientCommands.scanOptionError(options) { return reply.reply(.error(bad)) }
        let (finalCount, finalPattern) = (count, pattern)
        engine.scheduler.async {
            engine.scans.scan(namespace: ns, cursor: cursor, count: finalCount, pattern: finalPattern, options: options) { result in
                switch result {
                case .failure(let e):
                    reply.reply(.error(e.line))
                case .success(let page):
                    reply.reply(.array([.bulk(Array(String(page.cursor).utf8)), .array(page.keys.map { .bulk($0) })]))
                }
            }
        }
    }

    /// SCAN and KEYS read: a W option means nothing to them.
    static func scanOptionError(_ options: RequestOptions) -> String? {
        options.w == nil ? nil : "ERR syntax W is not an option of SCAN or KEYS (they read; use R)"
    }
}

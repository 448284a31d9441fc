// Read-only string and keyspace commands that need nothing from the write path:
//
//   STRLEN key [R ..]                 length of the value; 0 when absent
//   GETRANGE key start end [R ..]     Redis 7's substring rules (negative = from the end)
//   TYPE key [R ..]                   string | none
//   DBSIZE [R ..] [STRICT] [TIMEOUT]  an estimate across the ring (DBSizeWalk)
//
// TOUCH is EXISTS and UNLINK is DEL (ClientCommands+Data: no access times are kept, and a
// delete is a tombstone write either way). A key with siblings is `-CONFLICT ...` for
// STRLEN and GETRANGE, as for GET; its TYPE is `string` (every sibling is a string).

extension ClientCommands {
    func stringCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let ns = context.namespace
        let engine = self.engine
        if name == "DBSIZE" {
            let options: RequestOptions
            do { options = try RequestOptions.parse(args) } catch { return reply.reply(.error(error.message)) }
            if options.w != nil { return reply.reply(.error("ERR syntax W is not an option of DBSIZE (it reads; use R)")) }
            engine.scheduler.async {
                engine.scans.dbSize(namespace: ns, options: options) { result in
                    switch result {
                    case .failure(let e): reply.reply(.error(e.line))
                    case .success(let n): reply.reply(.integer(n))
                    }
                }
            }
            return
        }
        let positional = name == "GETRANGE" ? 3 : 1
        let split: (positional: ArraySlice<[UInt8]>, options: RequestOptions)
        do { split = try RequestOptions.split(args, positional: positional) } catch { return reply.reply(.error(error.message)) }
        guard split.positional.count == positional, let key = split.positional.first else { return reply.reply(wrongArity(name)) }
        if split.options.w != nil { return reply.reply(.error("ERR syntax W is not an option of \(name) (it reads; use R)")) }
        var range: (Int64, Int64) = (0, 0)
        if name == "GETRANGE" {
            let p = split.positional.startIndex
            guard let start = RedisInteger.parse(split.positional[p + 1]), let end = RedisInteger.parse(split.positional[p + 2]) else {
                return reply.reply(.error("ERR value is not an integer or out of range"))
            }
            range = (start, end)
        }
        let bounds = range
        engine.read(namespace: ns, key: key, options: split.options) { result in
            switch result {
            case .failure(let e):
                reply.reply(.error(e.line))
            case .success(let record):
                let now = engine.expiryNowMs
                let value = ClientCommands.getReply(record, atMs: now)
                switch name {
                case "TYPE":
                    let exists = record.map { !$0.isAbsent(atMs: now) } ?? false
                    reply.reply(.simple(exists ? "string" : "none"))
                case "STRLEN":
                    if case .bulk(let bytes) = value { return reply.reply(.integer(Int64(bytes.count))) }
                    reply.reply(value.isNull ? .integer(0) : value)
                default:  // GETRANGE
                    if case .bulk(let bytes) = value { return reply.reply(.bulk(ClientCommands.substring(bytes, bounds.0, bounds.1))) }
                    reply.reply(value.isNull ? .bulk([]) : value)
                }
            }
        }
    }

    /// GETRANGE's rules, as Redis 7.0's getrangeCommand: negative indexes count from the end,
    /// both ends are inclusive and clamped; an empty or inverted range is "".
    static func substring(_ bytes: [UInt8], _ startIndex: Int64, _ endIndex: Int64) -> [UInt8] {
        let length = Int64(bytes.count)
        var start = startIndex, end = endIndex
        if start < 0 && end < 0 && start > end { return [] }
        if start < 0 { start = length &+ start }
        if end < 0 { end = length &+ end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= length { end = length - 1 }
        if length == 0 || start > end { return [] }
        return Array(bytes[Int(start)...Int(end)])
    }
}
